"""Coding the documents: mentions of departments and instruments, and what problem 2 reads off them.

Problem 2 of the study says departmental responsibilities are unclear and several departments
manage the same thing. The codings make that checkable in the documents themselves: which
departments a document names, which are named together (the co-mention network), and for each
instrument category how many departments are named alongside it and how concentrated those
mentions are (Herfindahl-Hirschman index).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import numpy as np
import pandas as pd

from hazegov.policy.lexicon import Lexicon
from hazegov.policy.text import (
    Segmenter,
    cjk_share,
    detect_language,
    paragraph_language,
    split_paragraphs,
    split_sentences,
)

WINDOWS = ("sentence", "paragraph", "document")
BILINGUAL_KEEP = ("zh", "en", "both")


@dataclass(frozen=True)
class LanguageSettings:
    """How a document's language is told, and which half of a bilingual text is coded.

    The project digests say everything twice (Chinese, then English); coding both halves would
    double their counts against an official full text, so by default only the Chinese half is.
    """

    zh_min_cjk_share: float = 0.6
    en_max_cjk_share: float = 0.1
    bilingual_keep: str = "zh"


@dataclass(frozen=True)
class Mention:
    kind: str
    entry_id: str
    term: str
    start: int
    end: int


def find_mentions(
    joined: str, spans: Sequence[tuple[int, int]], keys: Mapping[str, tuple[str, str]]
) -> list[Mention]:
    """Longest match first; a stretch of text counts once; a term must start and end on tokens.

    `joined` and `spans` come from `Segmenter.joined`. Overlapping candidates are resolved by
    length (then position), so 北京市公安局公安交通管理局 is one mention of the traffic bureau, not
    also one of 北京市公安局.
    """
    starts = {s for s, _ in spans}
    ends = {e for _, e in spans}
    candidates = []
    for key, (kind, entry_id) in keys.items():
        at = joined.find(key)
        while at != -1:
            if at in starts and at + len(key) in ends:
                candidates.append((at, at + len(key), key, kind, entry_id))
            at = joined.find(key, at + 1)
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0], c[2]))
    taken = np.zeros(len(joined), dtype=bool)
    found = []
    for start, end, key, kind, entry_id in candidates:
        if taken[start:end].any():
            continue
        taken[start:end] = True
        found.append(Mention(kind, entry_id, key, start, end))
    return sorted(found, key=lambda m: m.start)


@dataclass(frozen=True)
class CodedCorpus:
    """Per document, per sentence and per mention: everything later tables are counted from."""

    documents: pd.DataFrame
    sentences: pd.DataFrame
    mentions: pd.DataFrame


MENTION_COLUMNS = ["document_id", "paragraph", "sentence", "kind", "entry_id", "term"]


def code_corpus(
    texts: Mapping[str, str], lexicon: Lexicon, segmenter: Segmenter, language: LanguageSettings
) -> CodedCorpus:
    """Split, segment and match every document (ids in the given order)."""
    if language.bilingual_keep not in BILINGUAL_KEEP:
        raise ValueError(f"bilingual_keep must be one of {BILINGUAL_KEEP}")
    doc_rows, sentence_rows, mention_rows = [], [], []
    for doc_id, text in texts.items():
        lang = detect_language(text, language.zh_min_cjk_share, language.en_max_cjk_share)
        paragraphs = split_paragraphs(text)
        n_kept = n_sentences = n_tokens = 0
        for p, paragraph in enumerate(paragraphs, start=1):
            p_lang = paragraph_language(paragraph)
            keep = language.bilingual_keep
            if lang == "zh+en" and keep != "both" and p_lang != keep:
                continue
            n_kept += 1
            for s, sentence in enumerate(split_sentences(paragraph), start=1):
                joined, spans = segmenter.joined(sentence)
                n_sentences += 1
                n_tokens += len(spans)
                sentence_rows.append(
                    {
                        "document_id": doc_id,
                        "paragraph": p,
                        "sentence": s,
                        "language": p_lang,
                        "tokens": len(spans),
                        "text": sentence,
                    }
                )
                for m in find_mentions(joined, spans, lexicon.keys):
                    mention_rows.append(
                        {
                            "document_id": doc_id,
                            "paragraph": p,
                            "sentence": s,
                            "kind": m.kind,
                            "entry_id": m.entry_id,
                            "term": m.term,
                        }
                    )
        doc_rows.append(
            {
                "document_id": doc_id,
                "language": lang,
                "cjk_share": round(cjk_share(text), 4),
                "paragraphs": len(paragraphs),
                "paragraphs_coded": n_kept,
                "sentences": n_sentences,
                "tokens": n_tokens,
            }
        )
    return CodedCorpus(
        documents=pd.DataFrame(doc_rows),
        sentences=pd.DataFrame(
            sentence_rows,
            columns=["document_id", "paragraph", "sentence", "language", "tokens", "text"],
        ),
        mentions=pd.DataFrame(mention_rows, columns=MENTION_COLUMNS),
    )


def _window_ids(mentions: pd.DataFrame, window: str) -> pd.Series:
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}")
    doc = mentions["document_id"].astype(str)
    if window == "document":
        return doc
    para = doc + "#p" + mentions["paragraph"].astype(str)
    return para if window == "paragraph" else para + "s" + mentions["sentence"].astype(str)


def instrument_coding(coded: CodedCorpus, lexicon: Lexicon) -> pd.DataFrame:
    """Document-by-instrument matrix in long form: mentions, presence, mentions per 1,000 tokens."""
    found = coded.mentions[coded.mentions["kind"] == "instrument"]
    counts = Counter(zip(found["document_id"], found["entry_id"], strict=True))
    tokens = coded.documents.set_index("document_id")["tokens"]
    rows = []
    for doc_id in coded.documents["document_id"]:
        for instrument in lexicon.instruments:
            n = counts.get((doc_id, instrument.id), 0)
            rows.append(
                {
                    "document_id": doc_id,
                    "category": instrument.category,
                    "instrument": instrument.id,
                    "mentions": n,
                    "present": int(n > 0),
                    "per_1000_tokens": 1000 * n / tokens[doc_id] if tokens[doc_id] else 0.0,
                }
            )
    return pd.DataFrame(rows)


def department_mentions(coded: CodedCorpus, lexicon: Lexicon) -> pd.DataFrame:
    """Document by department in long form: mentions and presence, every pair listed."""
    found = coded.mentions[coded.mentions["kind"] == "department"]
    counts = Counter(zip(found["document_id"], found["entry_id"], strict=True))
    rows = [
        {
            "document_id": doc_id,
            "department": d.id,
            "level": d.level,
            "mentions": counts.get((doc_id, d.id), 0),
            "present": int(counts.get((doc_id, d.id), 0) > 0),
        }
        for doc_id in coded.documents["document_id"]
        for d in lexicon.departments
    ]
    return pd.DataFrame(rows)


def instrument_mix(coding: pd.DataFrame, lexicon: Lexicon) -> pd.DataFrame:
    """Per category, then per instrument: documents coded, mentions, shares in percent.

    mention_share: the row's mentions over all instrument mentions of the corpus.
    document_share: documents with at least one mention over the documents coded.
    """
    n_docs = coding["document_id"].nunique()
    total = int(coding["mentions"].sum())
    rows = []
    for category in lexicon.categories:
        part = coding[coding["category"] == category.id]
        per_doc = part.groupby("document_id")["mentions"].sum()
        rows.append(
            {
                "level": "category",
                "category": category.id,
                "instrument": "",
                "label": category.en,
                "label_zh": category.zh,
                "documents": int((per_doc > 0).sum()),
                "mentions": int(part["mentions"].sum()),
            }
        )
        for instrument in (i for i in lexicon.instruments if i.category == category.id):
            own = part[part["instrument"] == instrument.id]
            rows.append(
                {
                    "level": "instrument",
                    "category": category.id,
                    "instrument": instrument.id,
                    "label": instrument.en,
                    "label_zh": instrument.zh,
                    "documents": int(own["present"].sum()),
                    "mentions": int(own["mentions"].sum()),
                }
            )
    mix = pd.DataFrame(rows)
    mix["mention_share"] = 100 * mix["mentions"] / total if total else 0.0
    mix["document_share"] = 100 * mix["documents"] / n_docs if n_docs else 0.0
    return mix


def comention_network(coded: CodedCorpus, lexicon: Lexicon, window: str) -> nx.Graph:
    """Departments named in the corpus; an edge joins two named in the same window.

    Edge weight: the number of windows (sentences, paragraphs or documents) naming both.
    """
    found = coded.mentions[coded.mentions["kind"] == "department"].copy()
    found["window"] = _window_ids(found, window)
    order = {d.id: k for k, d in enumerate(lexicon.departments)}
    graph = nx.Graph()
    named = set(found["entry_id"])
    for d in lexicon.departments:
        if d.id in named:
            graph.add_node(d.id, level=d.level, short=d.short, en=d.en, zh=d.zh)
    for _, group in found.groupby("window", sort=True):
        present = sorted(set(group["entry_id"]), key=order.__getitem__)
        doc_id = str(group["document_id"].iloc[0])
        for a, b in combinations(present, 2):
            if graph.has_edge(a, b):
                graph[a][b]["weight"] += 1
                graph[a][b]["documents"].add(doc_id)
            else:
                graph.add_edge(a, b, weight=1, documents={doc_id})
    return graph


def largest_component(graph: nx.Graph, order: Sequence[str]) -> set[str]:
    """The largest component with an edge; ties go to the one holding the earliest department."""
    rank = {d: k for k, d in enumerate(order)}
    components = [c for c in nx.connected_components(graph) if len(c) > 1]
    if not components:
        return set()
    return min(components, key=lambda c: (-len(c), min(rank[n] for n in c)))


def centralities(graph: nx.Graph, lexicon: Lexicon, mentions: pd.DataFrame) -> pd.DataFrame:
    """Degree, betweenness and eigenvector centrality of every named department (unweighted).

    degree_centrality: partners / (n - 1). betweenness: share of shortest paths between other
    pairs through the node, normalised by (n - 1)(n - 2) / 2. eigenvector: the leading
    eigenvector of the adjacency matrix of the largest connected component (unit Euclidean
    length); 0 outside it, where it is not defined.
    """
    order = [d.id for d in lexicon.departments if d.id in graph]
    n = graph.number_of_nodes()
    degree = nx.degree_centrality(graph) if n > 1 else dict.fromkeys(graph, 0.0)
    betweenness = nx.betweenness_centrality(graph, normalized=True) if n > 2 else {}
    core = largest_component(graph, order)
    eigen: dict[str, float] = {}
    if core:
        eigen = nx.eigenvector_centrality(graph.subgraph(core), max_iter=10000, tol=1e-12)
    component_of = {
        node: k
        for k, comp in enumerate(
            sorted(nx.connected_components(graph), key=lambda c: min(order.index(x) for x in c)),
            start=1,
        )
        for node in comp
    }
    found = mentions[mentions["kind"] == "department"]
    n_mentions = found["entry_id"].value_counts()
    n_documents = found.groupby("entry_id")["document_id"].nunique()
    rows = []
    for node in order:
        d = lexicon.department(node)
        rows.append(
            {
                "department": node,
                "short": d.short,
                "name_en": d.en,
                "name_zh": d.zh,
                "level": d.level,
                "mentions": int(n_mentions.get(node, 0)),
                "documents": int(n_documents.get(node, 0)),
                "degree": graph.degree(node),
                "strength": graph.degree(node, weight="weight"),
                "degree_centrality": degree.get(node, 0.0),
                "betweenness": betweenness.get(node, 0.0),
                "eigenvector": eigen.get(node, 0.0),
                "component": component_of[node],
                "in_largest_component": node in core,
            }
        )
    return pd.DataFrame(rows)


def edge_list(graph: nx.Graph, lexicon: Lexicon) -> pd.DataFrame:
    order = {d.id: k for k, d in enumerate(lexicon.departments)}
    rows = []
    for a, b, data in graph.edges(data=True):
        source, target = sorted((a, b), key=order.__getitem__)
        rows.append(
            {
                "source": source,
                "target": target,
                "weight": data["weight"],
                "documents": len(data["documents"]),
                "document_ids": ";".join(sorted(data["documents"])),
            }
        )
    frame = pd.DataFrame(rows, columns=["source", "target", "weight", "documents", "document_ids"])
    key = frame.apply(lambda r: (order[r["source"]], order[r["target"]]), axis=1)
    return frame.iloc[np.argsort(key.to_numpy())].reset_index(drop=True) if len(frame) else frame


def most_central(nodes: pd.DataFrame, by: str) -> tuple[pd.Series | None, int]:
    """The top department by `by`; and how many departments share that top value.

    Ties are broken by the other two centralities, then by the number of documents and of
    mentions naming the department, then by dictionary order; the tie count is reported so
    the prose can say when the top place is shared.
    """
    if nodes.empty:
        return None, 0
    others = [k for k in ("degree_centrality", "betweenness", "eigenvector") if k != by]
    keys = [by, *others, "documents", "mentions"]
    ranked = nodes.assign(_order=range(len(nodes))).sort_values(
        [*keys, "_order"], ascending=[False] * len(keys) + [True], kind="mergesort"
    )
    top = ranked.iloc[0]
    ties = int(np.isclose(nodes[by], top[by], rtol=0, atol=1e-9).sum())
    return top.drop(labels="_order"), ties


def department_category_links(coded: CodedCorpus, lexicon: Lexicon, window: str) -> pd.DataFrame:
    """Department mentions in windows that also mention an instrument of each category.

    For category c and department d: `mentions` = the sum, over windows naming at least one
    instrument of c, of the number of times d is named in that window; `windows` = how many such
    windows name d at all.
    """
    found = coded.mentions.copy()
    found["window"] = _window_ids(found, window)
    category_of = {i.id: i.category for i in lexicon.instruments}
    mentions: dict[tuple[str, str], int] = defaultdict(int)
    windows: dict[tuple[str, str], int] = defaultdict(int)
    for _, group in found.groupby("window", sort=True):
        instruments = group[group["kind"] == "instrument"]["entry_id"]
        categories = {category_of[i] for i in instruments}
        named = Counter(group[group["kind"] == "department"]["entry_id"])
        for c in categories:
            for d, n in named.items():
                mentions[(c, d)] += n
                windows[(c, d)] += 1
    rows = [
        {
            "category": c.id,
            "department": d.id,
            "level": d.level,
            "mentions": mentions[(c.id, d.id)],
            "windows": windows[(c.id, d.id)],
        }
        for c in lexicon.categories
        for d in lexicon.departments
        if mentions.get((c.id, d.id))
    ]
    return pd.DataFrame(rows, columns=["category", "department", "level", "mentions", "windows"])


def hhi(counts: Sequence[float]) -> float:
    """Herfindahl-Hirschman index of shares, 0-1: sum of squared shares (nan when empty)."""
    values = np.asarray([c for c in counts if c > 0], dtype=float)
    if not len(values):
        return float("nan")
    shares = values / values.sum()
    return float((shares**2).sum())


def responsibility_spread(links: pd.DataFrame, lexicon: Lexicon) -> pd.DataFrame:
    """Per instrument category: departments sharing it and how concentrated their mentions are.

    n_departments: departments named alongside the category at least once. hhi: sum over those
    departments of (mentions_d / mentions_all)^2, on 0-1 (1: one department only; 1/n: n
    departments named equally often). hhi_normalized: (hhi - 1/n) / (1 - 1/n), 0 for an even
    spread, 1 for one department (1 when n = 1). effective_departments: 1 / hhi.
    """
    rows = []
    for category in lexicon.categories:
        part = links[links["category"] == category.id].sort_values(
            ["mentions", "department"], ascending=[False, True]
        )
        n = len(part)
        index = hhi(part["mentions"].tolist())
        total = int(part["mentions"].sum())
        top = part.iloc[0] if n else None
        rows.append(
            {
                "category": category.id,
                "label": category.en,
                "n_departments": n,
                "department_mentions": total,
                "hhi": index,
                "hhi_normalized": (index - 1 / n) / (1 - 1 / n)
                if n > 1
                else (1.0 if n else np.nan),
                "effective_departments": 1 / index if n else np.nan,
                "top_department": top["department"] if top is not None else "",
                "top_share": top["mentions"] / total if top is not None else np.nan,
            }
        )
    return pd.DataFrame(rows)
