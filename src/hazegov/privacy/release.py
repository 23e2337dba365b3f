"""The data set released with the paper: generalised, checked for k-anonymity, labelled.

The internal analysis data set (results/processed/analysis.parquet) keeps every column the
analyses need and is never released. The released copy (config `privacy.release`):

- leaves out the `withheld` columns (by default the submission-order respondent number, the
  organisation, education, years in post and role) and numbers its rows afresh (`case_id`)
  after sorting them by their values, so that the row order says nothing about the order of
  submission;
- replaces the codes of each `generalise`d column by coarser levels (by default two age bands);
- must be k-anonymous on the `quasi_identifiers` (after generalisation): every combination of
  their values is shared by at least k respondents. A missing value counts as a value of its
  own ("(missing)"): a respondent who skipped a question is as recognisable by that as by an
  answer, so treating missing as a wildcard that matches any value would overstate the
  protection. If a combination is rarer, `check_k_anonymity` raises `KAnonymityError` listing
  every such combination, before anything is written.

Every released demographic column must be a quasi-identifier, so that un-withholding a column
in the config cannot bypass the check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat

from hazegov.errors import ConfigError, InputError, Violation
from hazegov.io import atomic_path, read_provenance, source_label, write_csv, write_json
from hazegov.paper.variables import write_variables
from hazegov.survey.codebook import Codebook, both, load_codebook
from hazegov.survey.display import describe

log = logging.getLogger("hazegov")

# Byte offsets of the creation date and time in a .sav header (the record starts with "$FL2",
# product name 60 bytes, then five 4-byte integers and an 8-byte bias).
_SAV_DATE = slice(92, 101)
_SAV_TIME = slice(101, 109)
_FIXED_DATE, _FIXED_TIME = b"01 Jan 16", b"00:00:00"

CASE_ID = "case_id"
MISSING = "(missing)"
K_ANONYMITY_RULE = "k-anonymity"
CONFIG_WHERE = "config privacy.release"

DERIVED = {
    "respondent_id": ("Respondent (anonymised, order of submission)", "受访者编号（匿名）"),
    "sector": ("Respondent sector", "受访者部门类别"),
    "government": ("Government sector (true) or not", "是否政府部门"),
    CASE_ID: (
        "Case number in the released data set (rows sorted by their values)",
        "个案编号（发布数据集）",
    ),
}
# How the prose names each column.
PROSE_NAMES = {
    "respondent_id": "the submission-order respondent number",
    "resp_group": "organisation",
    "sector": "sector",
    "government": "government or not",
    "gender": "gender",
    "age_band": "age band",
    "education": "education",
    "years_in_post": "years in post",
    "role": "role",
}
# Columns describing who a respondent is: a released one must be a quasi-identifier.
DERIVED_DEMOGRAPHICS = ("sector", "government")


@dataclass(frozen=True)
class Level:
    """One level of a generalised column: its new code, labels, and the codes it takes in."""

    code: int
    en: str
    zh: str
    source: tuple[int, ...]


@dataclass(frozen=True)
class ReleaseSpec:
    """What is released, how it is generalised, and the k-anonymity it must meet."""

    k: int
    quasi_identifiers: tuple[str, ...]
    generalise: Mapping[str, tuple[Level, ...]]
    withheld: tuple[str, ...]

    @classmethod
    def from_config(cls, release: Mapping[str, Any]) -> ReleaseSpec:
        """From config `privacy.release` (its shape is checked by the workflow's schema)."""
        generalise = {
            str(column): tuple(
                Level(
                    int(lv["code"]),
                    str(lv["en"]),
                    str(lv.get("zh") or ""),
                    tuple(int(c) for c in lv["from"]),
                )
                for lv in levels
            )
            for column, levels in (release.get("generalise") or {}).items()
        }
        return cls(
            k=int(release["k"]),
            quasi_identifiers=tuple(str(c) for c in release["quasi_identifiers"]),
            generalise=generalise,
            withheld=tuple(str(c) for c in release.get("withheld") or ()),
        )

    def validate(self, columns: Sequence[str], cb: Codebook) -> None:
        """The spec fits the analysis data set and the codebook; ConfigError lists every misfit."""
        problems: list[str] = []
        known = set(columns)
        for name, group in (
            ("quasi_identifiers", self.quasi_identifiers),
            ("withheld", self.withheld),
            ("generalise", tuple(self.generalise)),
        ):
            problems += [
                f"{name}: {c!r} is not a column of the analysis data set"
                for c in group
                if c not in known
            ]
        problems += [
            f"quasi_identifiers: {c!r} is also withheld; a withheld column is not released"
            for c in self.quasi_identifiers
            if c in self.withheld
        ]
        problems += [
            f"generalise: {c!r} is withheld; generalise it or withhold it, not both"
            for c in self.generalise
            if c in self.withheld
        ]
        if self.k < 2:
            problems.append(f"k: must be at least 2, not {self.k}")
        for column, levels in self.generalise.items():
            problems += _level_problems(column, levels, cb)
        demographics = [
            v.name for v in cb.variables if v.role in ("demographic", "respondent_group")
        ]
        for column in (*demographics, *DERIVED_DEMOGRAPHICS):
            released = column in known and column not in self.withheld
            if released and column not in self.quasi_identifiers:
                problems.append(
                    f"{column!r} is a released demographic column but not a quasi-identifier: "
                    "list it in quasi_identifiers or in withheld"
                )
        if problems:
            raise ConfigError(
                [Violation(file=CONFIG_WHERE, rule="release-spec", message=p) for p in problems]
            )


def _level_problems(column: str, levels: Sequence[Level], cb: Codebook) -> list[str]:
    try:
        var = _column_variable(cb, column)
    except KeyError:
        return [f"generalise: {column!r} is not a coded codebook variable"]
    codes = [o.code for o in var.options]
    if not codes:
        return [f"generalise: {column!r} has no answer codes to generalise"]
    problems = []
    taken = [c for lv in levels for c in lv.source]
    for code in sorted({c for c in taken if taken.count(c) > 1}):
        problems.append(f"generalise: {column} code {code} is mapped to more than one level")
    for code in sorted(set(codes) - set(taken)):
        problems.append(f"generalise: {column} code {code} is not mapped to a level")
    for code in sorted(set(taken) - set(codes)):
        problems.append(f"generalise: {column} code {code} is not an answer code of {column}")
    new = [lv.code for lv in levels]
    if len(set(new)) != len(new):
        problems.append(f"generalise: {column} has two levels with the same code")
    if cb.bilingual:  # the second language is optional with an English-only codebook
        for lv in levels:
            if not lv.zh:
                problems.append(
                    f"generalise: {column} level {lv.code} needs a Chinese label (zh): the "
                    "codebook is bilingual"
                )
    return problems


class KAnonymityError(InputError):
    """The released data set would hold a combination of quasi-identifiers rarer than k."""

    def __init__(self, violations: list[Violation], k: int, quasi_identifiers: Sequence[str]):
        super().__init__(violations, limit=max(len(violations), 1))
        self.k = k
        hint = (
            f"\n  The released data set is not {k}-anonymous on {', '.join(quasi_identifiers)}: "
            "generalise or withhold more columns in config privacy.release (nothing was written)."
        )
        self.args = (f"{self.args[0]}{hint}",)


@dataclass(frozen=True)
class KAnonymity:
    """The result of a passed check, as written to k_anonymity.json."""

    k: int
    quasi_identifiers: tuple[str, ...]
    n_records: int
    n_classes: int
    smallest_class: int
    classes: pd.DataFrame  # one row per combination, with its count `n`

    def to_dict(self, spec: ReleaseSpec) -> dict[str, Any]:
        return {
            "k": self.k,
            "quasi_identifiers": list(self.quasi_identifiers),
            "missing_values": f"counted as a value of their own ({MISSING!r})",
            "n_records": self.n_records,
            "n_classes": self.n_classes,
            "smallest_class": self.smallest_class,
            "generalised": {
                column: [
                    {
                        "code": lv.code,
                        "en": lv.en,
                        **({"zh": lv.zh} if lv.zh else {}),  # none: English-only codebook
                        "from": list(lv.source),
                    }
                    for lv in levels
                ]
                for column, levels in spec.generalise.items()
            },
            "withheld": list(spec.withheld),
        }


def generalise(frame: pd.DataFrame, spec: ReleaseSpec) -> pd.DataFrame:
    """Replace the codes of each generalised column by its level codes (missing stays missing)."""
    out = frame.copy()
    for column, levels in spec.generalise.items():
        mapping = {code: lv.code for lv in levels for code in lv.source}
        values = out[column].astype("Int64")
        out[column] = values.map(lambda v, m=mapping: pd.NA if pd.isna(v) else m[int(v)]).astype(
            "Int64"
        )
    return out


def release_frame(analysis: pd.DataFrame, cb: Codebook, spec: ReleaseSpec) -> pd.DataFrame:
    """The released data set: withheld columns dropped, generalised, rows sorted and renumbered."""
    spec.validate(list(analysis.columns), cb)
    out = generalise(analysis.drop(columns=list(spec.withheld)), spec)
    out = out.sort_values(list(out.columns), kind="mergesort", na_position="last")
    out = out.reset_index(drop=True)
    out.insert(0, CASE_ID, pd.array(range(1, len(out) + 1), dtype="Int64"))
    return out


def _value_text(column: str, value: object, cb: Codebook, spec: ReleaseSpec) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return MISSING
    if column == "government":
        return "yes" if bool(value) else "no"
    if column in spec.generalise:
        for lv in spec.generalise[column]:
            if lv.code == int(value):  # type: ignore[call-overload]
                return lv.en
    try:
        options = {o.code: o.en for o in cb.variable(column).options}
    except KeyError:
        options = {}
    if options and not isinstance(value, str):
        return options.get(int(value), str(value))  # type: ignore[call-overload]
    return str(value)


def equivalence_classes(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], cb: Codebook, spec: ReleaseSpec
) -> pd.DataFrame:
    """One row per combination of quasi-identifier values (labels; missing as a value), with
    the number of records `n`, rarest first."""
    columns = list(quasi_identifiers)
    if not columns:
        return pd.DataFrame({"n": [len(frame)]})
    labels = pd.DataFrame(
        {c: [_value_text(c, v, cb, spec) for v in frame[c].tolist()] for c in columns}
    )
    classes = labels.groupby(columns, sort=True).size().rename("n").reset_index()
    return classes.sort_values(["n", *columns], kind="mergesort").reset_index(drop=True)


def check_k_anonymity(
    frame: pd.DataFrame, cb: Codebook, spec: ReleaseSpec, source: str | Path
) -> KAnonymity:
    """Every combination of quasi-identifier values holds at least k records, or
    `KAnonymityError` lists every combination that does not (with its count)."""
    classes = equivalence_classes(frame, spec.quasi_identifiers, cb, spec)
    rare = classes[classes["n"] < spec.k]
    if len(rare):
        violations = [
            Violation(
                file=str(source),
                rule=K_ANONYMITY_RULE,
                message=", ".join(f"{c}={row[c]}" for c in spec.quasi_identifiers)
                + f": {int(row['n'])} respondent{'s' if int(row['n']) != 1 else ''} "
                f"(k={spec.k})",
            )
            for _, row in rare.iterrows()
        ]
        raise KAnonymityError(violations, spec.k, spec.quasi_identifiers)
    return KAnonymity(
        k=spec.k,
        quasi_identifiers=spec.quasi_identifiers,
        n_records=len(frame),
        n_classes=len(classes),
        smallest_class=int(classes["n"].min()) if len(classes) else 0,
        classes=classes,
    )


def _generalised_text(column: str, levels: Sequence[Level], cb: Codebook) -> str:
    labels = {o.code: o.en for o in cb.variable(column).options}
    parts = [
        f"{lv.code} ({lv.en}) <- " + ", ".join(f"{c} ({labels.get(c, c)})" for c in lv.source)
        for lv in levels
    ]
    return "generalised from the questionnaire's codes: " + "; ".join(parts)


def _column_variable(cb: Codebook, column: str):
    """The codebook variable of a data-set column: the respondent group is the column
    ``resp_group`` (its option ids) whatever the codebook names the question."""
    return cb.respondent_group if column == "resp_group" else cb.variable(column)


def data_dictionary(
    cb: Codebook, frame: pd.DataFrame, spec: ReleaseSpec | None = None
) -> pd.DataFrame:
    """One row per column of a data set: meaning in both languages and origin; with a `spec`
    (the released data set) also how each column was generalised and whether it is a
    quasi-identifier."""
    generalised = dict(spec.generalise) if spec else {}
    rows = []
    for column in frame.columns:
        notes = []
        if column in DERIVED:
            en, zh = DERIVED[column]
            values = ""
            if column == "sector":
                values = "; ".join(f"{s.id}={s.en}" for s in cb.sectors)
            row = {
                "variable": column,
                "label_en": en,
                "label_zh": zh,
                "type": str(frame[column].dtype),
                "construct": "",
                "reverse_coded": False,
                "valid_range": "",
                "values": values,
                "export_header": "(derived)",
            }
        else:
            var = _column_variable(cb, column)
            if column in generalised:
                levels = generalised[column]
                values = "; ".join(f"{lv.code}={lv.en}" for lv in levels)
                codes = [lv.code for lv in levels]
                valid = f"{min(codes)}-{max(codes)}"
                notes.append(_generalised_text(column, levels, cb))
            elif var.role == "respondent_group":
                values = "; ".join(f"{o.id}={o.en}" for o in var.options)
                valid = ""
            else:
                values = "; ".join(f"{o.code}={o.en}" for o in var.options)
                lo_hi = var.valid_range
                valid = f"{lo_hi[0]}-{lo_hi[1]}" if lo_hi else ""
            row = {
                "variable": column,
                "label_en": var.text_en,
                "label_zh": var.text_zh,
                "type": str(frame[column].dtype),
                "construct": var.construct or "",
                "reverse_coded": var.reverse,
                "valid_range": valid,
                "values": values,
                "export_header": var.header or "",
            }
        if cb.has_display_logic:  # who was shown it: a missing answer may be not applicable
            condition = None if column in DERIVED else _column_variable(cb, column).shown_if
            row["shown_if"] = describe(condition, cb) if condition else ""
        if spec is not None:
            if column in spec.quasi_identifiers:
                notes.append(f"quasi-identifier: every combination holds at least {spec.k} cases")
            row["release"] = "; ".join(notes)
        rows.append(row)
    frame = pd.DataFrame(rows)
    # an English-only codebook has no Chinese labels: the dictionary prints English only
    return frame if cb.bilingual else frame.drop(columns="label_zh")


def write_sav(
    frame: pd.DataFrame,
    cb: Codebook,
    path: str | Path,
    file_label: str,
    spec: ReleaseSpec | None = None,
) -> None:
    """SPSS file with variable and value labels, for collaborators who work in SPSS."""
    generalised = dict(spec.generalise) if spec else {}
    out = frame.copy()
    sector_codes = {s.id: i + 1 for i, s in enumerate(cb.sectors)}
    if "resp_group" in out.columns:
        id_to_code = {o.id: o.code for o in cb.respondent_group.options}
        out["resp_group"] = out["resp_group"].map(id_to_code).astype("Int64")
    if "sector" in out.columns:
        out["sector"] = out["sector"].map(sector_codes).astype("Int64")
    if "government" in out.columns:
        out["government"] = out["government"].astype("Int64")
    for column in out.columns:
        if str(out[column].dtype) == "Int64":
            out[column] = out[column].astype("float64")
    if "respondent_id" in out.columns:
        out["respondent_id"] = out["respondent_id"].astype(str)

    column_labels: dict[str, str] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for column in out.columns:
        if column in DERIVED:
            column_labels[column] = both(*DERIVED[column]) if cb.bilingual else DERIVED[column][0]
            continue
        var = _column_variable(cb, column)
        if column in generalised:
            column_labels[column] = both(f"{var.text_en} (generalised)", var.text_zh)
            value_labels[column] = {
                float(lv.code): both(lv.en, lv.zh if cb.bilingual else "")
                for lv in generalised[column]
            }
            continue
        suffix = " (reverse-coded)" if var.reverse else ""
        column_labels[column] = both(f"{var.text_en}{suffix}", var.text_zh)
        value_labels[column] = {float(o.code): both(o.en, o.zh) for o in var.options}
    if "sector" in out.columns:
        value_labels["sector"] = {float(sector_codes[s.id]): both(s.en, s.zh) for s in cb.sectors}
    if "government" in out.columns:
        value_labels["government"] = {0.0: "No", 1.0: "Yes"}
    with atomic_path(path) as tmp:
        pyreadstat.write_sav(
            out,
            str(tmp),
            file_label=file_label[:64],
            column_labels=column_labels,
            variable_value_labels=value_labels,
        )
        _fix_sav_timestamp(tmp)


def _fix_sav_timestamp(path: Path) -> None:
    """Overwrite the creation date and time readstat writes, so two builds give the same bytes."""
    data = bytearray(path.read_bytes())
    if data[:4] not in (b"$FL2", b"$FL3"):
        raise ValueError(f"{path} is not an SPSS .sav file")
    data[_SAV_DATE] = _FIXED_DATE
    data[_SAV_TIME] = _FIXED_TIME
    path.write_bytes(bytes(data))


def read_sav_labels(path: str | Path) -> dict[str, Any]:
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    return {
        "file_label": meta.file_label,
        "column_labels": dict(zip(meta.column_names, meta.column_labels, strict=True)),
        "value_labels": meta.variable_value_labels,
    }


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def privacy_variables(spec: ReleaseSpec, result: KAnonymity, min_cell_count: int) -> dict[str, Any]:
    """What the paper says about suppression and the released data set."""
    names = []
    for column in spec.quasi_identifiers:
        name = PROSE_NAMES.get(column, column.replace("_", " "))
        if column in spec.generalise:
            levels = [lv.en.lower() for lv in spec.generalise[column]]
            name += f" (coarsened to {_join(levels)})"
        names.append(name)
    withheld = [PROSE_NAMES.get(c, c.replace("_", " ")) for c in spec.withheld]
    return {
        "min_cell_count": min_cell_count,
        "k": spec.k,
        "quasi_identifiers_text": _join(names),
        "withheld_text": _join(withheld) if withheld else "no column",
        "n_classes": result.n_classes,
        "smallest_class": result.smallest_class,
    }


def run_release(
    analysis: str | Path,
    codebook: str | Path,
    release: dict[str, Any],
    min_cell_count: int,
    sav_out: str | Path,
    csv_out: str | Path,
    dictionary_out: str | Path,
    report_out: str | Path,
    variables_out: str | Path,
    file_label: str = "Beijing haze governance survey",
) -> None:
    """The data set released with the paper: withheld columns dropped, generalised, checked for
    k-anonymity on the quasi-identifiers before anything is written, then written as SPSS and
    UTF-8 CSV with its data dictionary, the k-anonymity report and the paper's variables.

    ``file_label`` is the SPSS file label (config ``release.label``: another questionnaire's
    data set should not call itself the haze survey); synthetic data say so before it."""
    cb = load_codebook(codebook)
    provenance = read_provenance(analysis)
    spec = ReleaseSpec.from_config(release)
    frame = release_frame(pd.read_parquet(analysis), cb, spec)
    result = check_k_anonymity(frame, cb, spec, analysis)
    log.info(
        "released %d records, %d columns; %d-anonymous on %s: %d classes, the smallest of %d",
        len(frame),
        frame.shape[1],
        spec.k,
        ", ".join(spec.quasi_identifiers),
        result.n_classes,
        result.smallest_class,
    )
    label = source_label(provenance)
    sav_label = ("SYNTHETIC DATA - " if label == "synthetic" else "") + file_label
    write_sav(frame, cb, sav_out, sav_label, spec)
    write_csv(frame, csv_out)
    write_csv(data_dictionary(cb, frame, spec), dictionary_out)
    write_json(result.to_dict(spec) | {"data_source": label}, report_out)
    write_variables(
        {"privacy": privacy_variables(spec, result, min_cell_count)},
        variables_out,
        rule="release_data_set",
    )
