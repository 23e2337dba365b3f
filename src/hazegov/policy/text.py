"""Chinese and English text as the coding sees it: paragraphs, sentences, tokens, language.

Chinese has no spaces, so a dictionary name could be matched inside a longer word
(环保部 inside 环保部门, "environmental departments"). Sentences are therefore segmented with
jieba, which is told every name and keyword of the study's dictionaries, and a name counts only
where it starts and ends on a word boundary. English is split into lower-cased words.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK_RANGES}]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_TOKEN = re.compile(
    rf"(?P<cjk>[{CJK_RANGES}]+)|(?P<word>[a-z0-9\u00c0-\u024f]+(?:['\-.][a-z0-9\u00c0-\u024f]+)*)"
)
_PUNCT = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u00a0": " ",
        "\u3000": " ",
    }
)
# A sentence ends at Chinese or Western end punctuation (with any closing quote or bracket), or at
# a full stop followed by white space that does not close a common abbreviation.
_SENTENCE_END = re.compile(r"[。!?！？]+[\"'」』)\]]*|\.(?=\s|$)")
_ABBREVIATIONS = frozenset({"no", "nos", "art", "e.g", "i.e", "etc", "vs", "cf", "para", "fig"})
_BLANK_LINE = re.compile(r"\n\s*\n")
LANGUAGES = ("zh", "en", "zh+en", "und")
SEPARATOR = " | "  # put between tokens with punctuation between them: no term can span it


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and punctuation to ASCII), straight quotes, ASCII hyphens."""
    return unicodedata.normalize("NFKC", text).translate(_PUNCT)


def cjk_share(text: str) -> float:
    """Share of CJK characters among CJK characters and Latin letters (0 when there are none)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def detect_language(text: str, zh_min_cjk_share: float, en_max_cjk_share: float) -> str:
    """zh, en, zh+en (a bilingual text such as the project digests) or und (no letters)."""
    if not _CJK.search(text) and not _LATIN.search(text):
        return "und"
    share = cjk_share(text)
    if share >= zh_min_cjk_share:
        return "zh"
    if share <= en_max_cjk_share:
        return "en"
    return "zh+en"


def paragraph_language(paragraph: str) -> str:
    """A paragraph is Chinese when at least half its letters are CJK characters."""
    if not _CJK.search(paragraph) and not _LATIN.search(paragraph):
        return "und"
    return "zh" if cjk_share(paragraph) >= 0.5 else "en"


def split_paragraphs(text: str) -> list[str]:
    """Blocks between blank lines; the lines of a block are joined (no space between CJK)."""
    paragraphs = []
    for block in _BLANK_LINE.split(normalize_text(text)):
        joined = ""
        for line in (ln.strip() for ln in block.splitlines()):
            if not line:
                continue
            glue = "" if joined and _CJK.match(joined[-1]) and _CJK.match(line[0]) else " "
            joined = f"{joined}{glue}{line}" if joined else line
        if joined:
            paragraphs.append(joined)
    return paragraphs


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, cut at 。!? and at full stops that end no abbreviation."""
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        if match.group().startswith("."):
            word = re.search(r"([A-Za-z.]+)$", paragraph[start : match.start()])
            if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
                continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    cjk: bool


def _glue(left: Token, right: Token, source: str) -> str:
    gap = source[left.end : right.start]
    if gap == "" and left.cjk and right.cjk:
        return ""
    return " " if gap.strip() == "" else SEPARATOR


def _word_tokens(word: str, start: int) -> list[Token]:
    """An English word; a possessive 's is a token of its own, so "Ministry of Finance's" names
    the Ministry of Finance."""
    if word.endswith("'s") and len(word) > 2:
        stem = len(word) - 2
        return [
            Token(word[:stem], start, start + stem, False),
            Token("'s", start + stem, start + len(word), False),
        ]
    return [Token(word, start, start + len(word), False)]


def term_key(term: str) -> str:
    """The form in which a dictionary term is looked up: lower case, CJK runs whole."""
    source = normalize_text(term).lower()
    tokens: list[Token] = []
    for m in _TOKEN.finditer(source):
        if m.lastgroup == "cjk":
            tokens.append(Token(m.group(), m.start(), m.end(), True))
        else:
            tokens += _word_tokens(m.group(), m.start())
    if not tokens:
        return ""
    key = tokens[0].text
    for left, right in itertools.pairwise(tokens):
        key += _glue(left, right, source) + right.text
    return key


def cjk_words(term: str) -> list[str]:
    """The Chinese runs of a term, which jieba must keep whole."""
    return [
        m.group() for m in _TOKEN.finditer(normalize_text(term).lower()) if m.lastgroup == "cjk"
    ]


def jieba_cache_path(cache_dir: str | Path | None = None) -> Path:
    """Where jieba keeps its prefix-dictionary cache: never in the repository, one fixed name."""
    jieba = _import_jieba()
    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "hazegov-jieba"
    return folder / f"jieba-{jieba.__version__}-default-dict.cache"


def _import_jieba() -> Any:
    with warnings.catch_warnings():
        # jieba 0.42.1 imports pkg_resources, which newer setuptools deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


class Segmenter:
    """jieba, told every Chinese name and keyword of the dictionaries so none is split.

    A private jieba.Tokenizer, so other code using jieba's global tokenizer is not affected.
    Words are added in a fixed order, so the segmentation does not depend on how the
    dictionaries happen to be ordered.
    """

    def __init__(self, words: Iterable[str], cache_dir: str | Path | None = None) -> None:
        jieba = _import_jieba()
        cache = jieba_cache_path(cache_dir)
        cache.parent.mkdir(parents=True, exist_ok=True)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.tmp_dir = str(cache.parent)
        self._tokenizer.cache_file = cache.name
        self.words = tuple(sorted(set(words), key=lambda w: (len(w), w)))
        for word in self.words:
            self._tokenizer.add_word(word)

    def tokens(self, sentence: str) -> list[Token]:
        """Lower-cased tokens with their offsets in the lower-cased, normalised sentence."""
        source = normalize_text(sentence).lower()
        tokens: list[Token] = []
        for match in _TOKEN.finditer(source):
            if match.lastgroup == "word":
                tokens += _word_tokens(match.group(), match.start())
                continue
            for word, start, end in self._tokenizer.tokenize(match.group(), HMM=True):
                tokens.append(Token(word, match.start() + start, match.start() + end, True))
        return tokens

    def joined(self, sentence: str) -> tuple[str, list[tuple[int, int]]]:
        """The sentence as one lookup string (as `term_key` builds terms) and token spans in it."""
        source = normalize_text(sentence).lower()
        tokens = self.tokens(sentence)
        text = ""
        spans = []
        for k, token in enumerate(tokens):
            if k:
                text += _glue(tokens[k - 1], token, source)
            spans.append((len(text), len(text) + len(token.text)))
            text += token.text
        return text, spans


@functools.lru_cache(maxsize=4)
def segmenter_for(words: tuple[str, ...], cache_dir: str | None = None) -> Segmenter:
    """One segmenter per word list: building jieba's prefix dictionary takes about a second."""
    return Segmenter(words, cache_dir)
