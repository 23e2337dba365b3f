"""The two rules of the policy strand: register and texts in, corpus out; corpus in, codings out.

Like the survey stages, each writes tidy CSV/JSON, a variables fragment (key `policy`) for the
introduction's numbers, Markdown tables and PNG figures; nothing reaches the paper otherwise.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from hazegov.errors import InputError
from hazegov.formatting import num
from hazegov.io import write_csv, write_json, write_parquet, write_text
from hazegov.paper.tables import Column, pipe_table
from hazegov.paper.variables import write_variables
from hazegov.policy.coding import (
    CodedCorpus,
    centralities,
    code_corpus,
    comention_network,
    department_category_links,
    department_mentions,
    edge_list,
    instrument_coding,
    instrument_mix,
    most_central,
    responsibility_spread,
)
from hazegov.policy.figures import network_figure, policy_events, timeline_figure
from hazegov.policy.lexicon import Lexicon, load_lexicon
from hazegov.policy.readers import UnreadableTextError, read_policy_text
from hazegov.policy.register import LEVELS, load_register, parse_partial_date, provisional
from hazegov.policy.settings import (
    CENTRALITIES,
    AnalysisSettings,
    analysis_settings,
    ingest_settings,
)
from hazegov.policy.text import segmenter_for

log = logging.getLogger("hazegov.policy")
NOT_DEFINED = "not defined"  # a statistic of no documents, in the prose
ANALYSIS_TABLES = (
    "documents",
    "mentions",
    "instrument_coding",
    "instrument_mix",
    "department_mentions",
    "network_nodes",
    "network_edges",
    "department_category_links",
    "responsibility_spread",
    "policy_events",
)
TEXT_KIND_LABELS = {"project_digest": "project digest", "official_full_text": "official full text"}


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_corpus(
    register: str | Path, on_unreadable: str = "error", text_encoding: str = "auto"
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The register with each document's text; unreadable texts stop the run or are skipped."""
    frame = load_register(register)
    records, problems, report = [], [], []
    for _, row in frame.iterrows():
        context = f"named by {register}, row {row['register_row']}, column 'text_file'"
        entry: dict[str, Any] = {"id": row["id"], "text_file": row["text_file"]}
        try:
            read = read_policy_text(row["text_path"], text_encoding, context)
        except UnreadableTextError as exc:
            problems += exc.violations
            entry |= {"status": "skipped", "reason": str(exc.violations[0])}
            if on_unreadable != "error":  # with "error" the run stops below, naming them all
                for violation in exc.violations:
                    log.warning("skipped: %s", violation)
            records.append(row.to_dict() | {"status": "skipped", "reason": entry["reason"]})
            report.append(entry)
            continue
        digest = hashlib.sha256(read.text.encode("utf-8")).hexdigest()
        entry |= {
            "status": "read",
            "reader": read.reader,
            "encoding": read.encoding,
            "pages": read.pages,
            "chars": len(read.text),
            "file_sha256": _sha256(row["text_path"]),
        }
        records.append(
            row.to_dict()
            | {
                "status": "read",
                "reason": "",
                "reader": read.reader,
                "encoding": read.encoding or "",
                "pages": read.pages,
                "chars": len(read.text),
                "text_sha256": digest,
                "text": read.text,
            }
        )
        report.append(entry)
    if problems and on_unreadable == "error":
        raise InputError(problems)
    corpus = pd.DataFrame(records)
    for column, default in (
        ("reader", ""),
        ("encoding", ""),
        ("chars", 0),
        ("text_sha256", ""),
        ("text", ""),
    ):
        corpus[column] = corpus[column].fillna(default) if column in corpus else default
    # pages: PDFs only; empty for other formats and for skipped texts
    corpus["pages"] = pd.array(corpus.get("pages", pd.Series([None] * len(corpus))), dtype="Int64")
    corpus["chars"] = corpus["chars"].astype("int64")
    corpus["register_row"] = corpus["register_row"].astype("int64")
    if not (corpus["status"] == "read").any():
        raise InputError.single(register, "readable-corpus", "no text of the register is readable")
    return corpus, report


def run_policy_corpus(
    register: str | Path,
    ingest: Mapping[str, Any] | None,
    corpus_out: str | Path,
    report_out: str | Path,
) -> None:
    """Register + texts -> one parquet row per document (text included) and a reading report."""
    settings = ingest_settings(ingest)
    corpus, report = read_corpus(register, settings.on_unreadable, settings.text_encoding)
    provenance = {
        "synthetic": False,
        "source": "policy register",
        "register": str(register),
        "register_sha256": _sha256(register),
    }
    write_parquet(corpus, corpus_out, provenance)
    write_json(
        {
            "register": str(register),
            "on_unreadable": settings.on_unreadable,
            "text_encoding": settings.text_encoding,
            "documents": report,
            "n_read": int((corpus["status"] == "read").sum()),
            "n_skipped": int((corpus["status"] == "skipped").sum()),
        },
        report_out,
    )
    log.info("policy corpus: %d documents read", int((corpus["status"] == "read").sum()))


def _date_words(text: str) -> str:
    """'10 September 2013', 'September 2013' or '2012', as the source gives the date."""
    issued = parse_partial_date(text)
    if issued.precision == "day":
        return f"{issued.start.day} {issued.start:%B %Y}"
    return f"{issued.start:%B %Y}" if issued.precision == "month" else f"{issued.start:%Y}"


def codings_source(n_digests: int, n_full: int) -> str:
    """Where the codings come from, in words, for captions and prose."""
    if n_full == 0:
        return "project digests"
    if n_digests == 0:
        return "official full texts"
    return f"project digests ({n_digests}) and official full texts ({n_full})"


def policy_variables(
    corpus: pd.DataFrame,
    documents: pd.DataFrame,
    mix: pd.DataFrame,
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    spread: pd.DataFrame,
    settings: AnalysisSettings,
    lexicon: Lexicon,
) -> dict[str, Any]:
    """Every number the introduction quotes about the policy documents."""
    coded = corpus[corpus["status"] == "read"]
    issued = [
        (parse_partial_date(str(d)), str(i))
        for d, i in zip(corpus["issued"], corpus["id"], strict=True)
    ]
    first = min(issued, key=lambda x: (x[0].start, x[1]))
    last = max(issued, key=lambda x: (x[0].end, x[1]))
    wave_start, wave_end = settings.policy_wave
    in_wave = [p for p, _ in issued if wave_start <= p.start.year and p.end.year <= wave_end]
    n_digests = int((coded["text_kind"] == "project_digest").sum())
    n_full = int((coded["text_kind"] == "official_full_text").sum())
    categories = mix[mix["level"] == "category"].set_index("category")
    top, ties = most_central(nodes, CENTRALITIES[settings.most_central_by])
    spread_by = spread.set_index("category")
    named = nodes["level"].value_counts()
    variables: dict[str, Any] = {
        "n_documents": len(corpus),
        "by_level": {level: int((corpus["level"] == level).sum()) for level in LEVELS},
        "n_coded": len(coded),
        "n_skipped": int((corpus["status"] == "skipped").sum()),
        "n_digests": n_digests,
        "n_official_full_texts": n_full,
        "codings_source": codings_source(n_digests, n_full),
        "first_issued": _date_words(first[0].text),
        "first_issued_id": first[1],
        "last_issued": _date_words(last[0].text),
        "last_issued_id": last[1],
        "first_year": first[0].start.year,
        "last_year": last[0].end.year,
        "wave_start": wave_start,
        "wave_end": wave_end,
        "n_wave_documents": len(in_wave),
        "n_provisional_dates": int(sum(provisional(r, "issued") for _, r in corpus.iterrows())),
        "n_departments_named": len(nodes),
        "departments_named_by_level": {level: int(named.get(level, 0)) for level in LEVELS},
        "n_comention_edges": len(edges),
        "window": settings.window,
        "typology": lexicon.typology,
        "instrument_mentions": int(categories["mentions"].sum()),
        "instrument_share": {
            c: num(categories.loc[c, "mention_share"], 1) for c in categories.index
        },
        "instrument_documents": {c: int(categories.loc[c, "documents"]) for c in categories.index},
        "departments_per_category": {
            c: int(spread_by.loc[c, "n_departments"]) for c in spread_by.index
        },
        "mean_departments_per_category": num(
            float(spread_by["n_departments"].mean()), missing=NOT_DEFINED
        ),
        "hhi": {
            c: num(float(spread_by.loc[c, "hhi"]), missing=NOT_DEFINED) for c in spread_by.index
        },
        "tokens_coded": int(documents["tokens"].sum()),
    }
    if top is None:
        variables["most_central"] = {"department": "none", "by": settings.most_central_by}
    else:
        variables["most_central"] = {
            "department": str(top["name_en"]),
            "department_zh": str(top["name_zh"]),
            "short": str(top["short"]),
            "by": settings.most_central_by,
            "degree_centrality": num(float(top["degree_centrality"]), missing=NOT_DEFINED),
            "betweenness": num(float(top["betweenness"]), missing=NOT_DEFINED),
            "eigenvector": num(float(top["eigenvector"]), missing=NOT_DEFINED),
            "ties": ties,
        }
    return variables


def instruments_table(mix: pd.DataFrame, n_digests: int, n_full: int, typology: str) -> str:
    """Categories and the instruments found; the caption says where the codings come from."""
    shown = mix[(mix["level"] == "category") | (mix["mentions"] > 0)].copy()
    shown["name"] = [
        f"**{r.label}**" if r.level == "category" else f"\u2003{r.label}"
        for r in shown.itertuples()
    ]
    missing = mix[(mix["level"] == "instrument") & (mix["mentions"] == 0)]["label"].tolist()
    columns = [
        Column("name", "Category / instrument", align="left"),
        Column("label_zh", "类别 / 工具", align="left"),
        Column("documents", "Documents"),
        Column("mentions", "Mentions"),
        Column("mention_share", "Share of mentions (%)", "{:.1f}"),
    ]
    n = n_digests + n_full
    if n_full == 0:
        source = (
            f"The codings of all {n} documents come from the project's own digests, not from the "
            "official full texts (none was supplied), so they show what the digests state"
        )
    elif n_digests == 0:
        source = f"The codings of all {n} documents come from the official full texts"
    else:
        source = (
            f"The codings of {n_digests} documents come from the project's digests and of "
            f"{n_full} from official full texts supplied by the user"
        )
    note = (
        f"Typology: {typology}. A mention is a dictionary keyword (config/policy_instruments.yaml) "
        "on word boundaries, longest match first; bilingual digests are coded in their Chinese "
        "half only."
    )
    if missing:
        note += " Instruments of the dictionary found in no text: " + "; ".join(missing) + "."
    return pipe_table(
        shown,
        columns,
        caption=f"Policy instruments in the documents of the register. {source}",
        label="tbl-policy-instruments",
        synthetic=False,
        note=note,
    )


def register_table(corpus: pd.DataFrame) -> str:
    rows = corpus.copy()
    rows["issued_shown"] = [
        f"{r['issued']}\u2020" if provisional(r, "issued") else str(r["issued"])
        for _, r in rows.iterrows()
    ]
    rows["text_shown"] = rows["text_kind"].map(TEXT_KIND_LABELS)
    rows["doc_number_shown"] = rows["doc_number"].where(rows["doc_number"] != "", "\u2014")
    rows = rows.assign(_date=[parse_partial_date(str(d)).start for d in rows["issued"]])
    rows = rows.sort_values(["_date", "id"], kind="mergesort")
    columns = [
        Column("issued_shown", "Issued", align="left"),
        Column("title_en", "Document", align="left"),
        Column("title_zh", "文件", align="left"),
        Column("issuer", "Issuer", align="left"),
        Column("level", "Level", align="left"),
        Column("doc_number_shown", "No.", align="left"),
        Column("text_shown", "Text coded", align="left"),
    ]
    notes = []
    if any(provisional(r, "issued") for _, r in corpus.iterrows()):
        notes.append("\u2020 Date still to be verified against the official source.")
    notes.append(
        "Dates are given to the precision the sources allow. Source addresses are in the "
        "register file (data/raw/policies/register.csv)."
    )
    note = " ".join(notes)
    return pipe_table(
        rows,
        columns,
        caption="Air-pollution policy documents of the register",
        label="tbl-policy-register",
        synthetic=False,
        note=note,
    )


def _documents_table(corpus: pd.DataFrame, coded: CodedCorpus) -> pd.DataFrame:
    found = coded.mentions
    stats = coded.documents.set_index("document_id")
    rows = []
    for _, record in corpus.iterrows():
        doc_id = record["id"]
        mine = found[found["document_id"] == doc_id]
        deps = mine[mine["kind"] == "department"]
        ins = mine[mine["kind"] == "instrument"]
        base = {
            "document_id": doc_id,
            "level": record["level"],
            "issued": record["issued"],
            "text_kind": record["text_kind"],
            "status": record["status"],
        }
        if doc_id in stats.index:
            base |= stats.loc[doc_id].to_dict()
        rows.append(
            base
            | {
                "department_mentions": len(deps),
                "departments": deps["entry_id"].nunique(),
                "instrument_mentions": len(ins),
                "instruments": ins["entry_id"].nunique(),
            }
        )
    return pd.DataFrame(rows)


def run_policy_text_analysis(
    corpus: str | Path,
    departments: str | Path,
    instruments: str | Path,
    language: Mapping[str, Any] | None,
    analysis: Mapping[str, Any] | None,
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    variables_out: str | Path,
    instruments_table_out: str | Path,
    register_table_out: str | Path,
    timeline_out: str | Path,
    network_out: str | Path,
    jieba_cache_dir: str | None = None,
) -> None:
    """Corpus -> codings, co-mention network, responsibility spread, variables, tables, figures."""
    settings = analysis_settings(language, analysis)
    lexicon = load_lexicon(departments, instruments)
    frame = pd.read_parquet(corpus)
    read = frame[frame["status"] == "read"]
    segmenter = segmenter_for(lexicon.jieba_words(), jieba_cache_dir)
    coded = code_corpus(
        dict(zip(read["id"], read["text"], strict=True)), lexicon, segmenter, settings.language
    )
    graph, frames = _codings_and_network(frame, coded, lexicon, settings.window)
    for name, path in tables.items():
        write_csv(frames[name], path)
    n_digests = int((read["text_kind"] == "project_digest").sum())
    n_full = int((read["text_kind"] == "official_full_text").sum())
    write_json(
        _stage_summary(
            frame, coded, settings, (departments, instruments), len(segmenter.words), read
        ),
        summary_out,
    )
    mix, nodes = frames["instrument_mix"], frames["network_nodes"]
    write_variables(
        {
            "policy": policy_variables(
                frame,
                frames["documents"],
                mix,
                nodes,
                frames["network_edges"],
                frames["responsibility_spread"],
                settings,
                lexicon,
            )
        },
        variables_out,
        rule="policy_text_analysis",
    )
    log.info(
        "policy codings: %d documents, %d department and %d instrument mentions (%s window)",
        len(read),
        int((coded.mentions["kind"] == "department").sum()),
        int((coded.mentions["kind"] == "instrument").sum()),
        settings.window,
    )
    write_text(instruments_table_out, instruments_table(mix, n_digests, n_full, lexicon.typology))
    write_text(register_table_out, register_table(frame))
    source = codings_source(n_digests, n_full)
    timeline_figure(
        frames["policy_events"],
        timeline_out,
        note="\u2020 date to be verified. Open markers: month or year only; bars span the "
        "possible dates.",
    )
    network_figure(
        graph,
        nodes,
        network_out,
        settings.window,
        note=f"Codings from {source}. Node size: mentions; edge width: {settings.window}s "
        "naming both departments.",
    )


def _codings_and_network(
    frame: pd.DataFrame, coded: CodedCorpus, lexicon: Lexicon, window: str
) -> tuple[nx.Graph, dict[str, pd.DataFrame]]:
    """The departments' co-mention network and every table of the stage (`ANALYSIS_TABLES`)."""
    coding = instrument_coding(coded, lexicon)
    mix = instrument_mix(coding, lexicon)
    graph = comention_network(coded, lexicon, window)
    nodes = centralities(graph, lexicon, coded.mentions)
    edges = edge_list(graph, lexicon)
    links = department_category_links(coded, lexicon, window)
    spread = responsibility_spread(links, lexicon)
    events = policy_events(frame)
    documents = _documents_table(frame, coded)
    mentions = coded.mentions.merge(
        coded.sentences[["document_id", "paragraph", "sentence", "text"]],
        on=["document_id", "paragraph", "sentence"],
        how="left",
    ).rename(columns={"text": "sentence_text"})
    frames = {
        "documents": documents,
        "mentions": mentions,
        "instrument_coding": coding,
        "instrument_mix": mix,
        "department_mentions": department_mentions(coded, lexicon),
        "network_nodes": nodes,
        "network_edges": edges,
        "department_category_links": links,
        "responsibility_spread": spread,
        "policy_events": events,
    }
    return graph, frames


def _stage_summary(
    frame: pd.DataFrame,
    coded: CodedCorpus,
    settings: AnalysisSettings,
    dictionaries: tuple[str | Path, str | Path],
    n_words_added: int,
    read: pd.DataFrame,
) -> dict[str, Any]:
    """The stage's JSON summary: the codings' source, settings, dictionaries, languages."""
    n_digests = int((read["text_kind"] == "project_digest").sum())
    n_full = int((read["text_kind"] == "official_full_text").sum())
    return {
        "data_source": "policy register",
        "codings_source": codings_source(n_digests, n_full),
        "settings": {
            "zh_min_cjk_share": settings.language.zh_min_cjk_share,
            "en_max_cjk_share": settings.language.en_max_cjk_share,
            "bilingual_keep": settings.language.bilingual_keep,
            "window": settings.window,
            "most_central_by": settings.most_central_by,
            "policy_wave": list(settings.policy_wave),
        },
        "dictionaries": {str(p): _sha256(p) for p in dictionaries},
        "jieba_words_added": n_words_added,
        "documents_skipped": frame.loc[frame["status"] == "skipped", "id"].tolist(),
        "languages": dict(
            zip(coded.documents["document_id"], coded.documents["language"], strict=True)
        ),
    }
