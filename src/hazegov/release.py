"""The data dictionary and the SPSS copy of the analysis data set, generated from the codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat

from hazegov.codebook import Codebook
from hazegov.outputs import atomic_path

# Byte offsets of the creation date and time in a .sav header (the record starts with "$FL2",
# product name 60 bytes, then five 4-byte integers and an 8-byte bias).
_SAV_DATE = slice(92, 101)
_SAV_TIME = slice(101, 109)
_FIXED_DATE, _FIXED_TIME = b"01 Jan 16", b"00:00:00"

DERIVED = {
    "respondent_id": ("Respondent (anonymised, order of submission)", "受访者编号（匿名）"),
    "sector": ("Respondent sector", "受访者部门类别"),
    "government": ("Government sector (true) or not", "是否政府部门"),
}


def data_dictionary(cb: Codebook, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column of the analysis data set: meaning in both languages and origin."""
    rows = []
    for column in frame.columns:
        if column in DERIVED:
            en, zh = DERIVED[column]
            values = ""
            if column == "sector":
                values = "; ".join(f"{s.id}={s.en}" for s in cb.sectors)
            rows.append(
                {
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
            )
            continue
        var = cb.variable(column)
        if var.role == "respondent_group":
            values = "; ".join(f"{o.id}={o.en}" for o in var.options)
            valid = ""
        else:
            values = "; ".join(f"{o.code}={o.en}" for o in var.options)
            lo_hi = var.valid_range
            valid = f"{lo_hi[0]}-{lo_hi[1]}" if lo_hi else ""
        rows.append(
            {
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
        )
    return pd.DataFrame(rows)


def write_sav(frame: pd.DataFrame, cb: Codebook, path: str | Path, file_label: str) -> None:
    """SPSS file with variable and value labels, for collaborators who work in SPSS."""
    out = frame.copy()
    group = cb.respondent_group
    id_to_code = {o.id: o.code for o in group.options}
    out["resp_group"] = out["resp_group"].map(id_to_code).astype("Int64")
    sector_codes = {s.id: i + 1 for i, s in enumerate(cb.sectors)}
    out["sector"] = out["sector"].map(sector_codes).astype("Int64")
    out["government"] = out["government"].astype("Int64")
    for column in out.columns:
        if str(out[column].dtype) == "Int64":
            out[column] = out[column].astype("float64")
    out["respondent_id"] = out["respondent_id"].astype(str)

    column_labels: dict[str, str] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for column in out.columns:
        if column in DERIVED:
            column_labels[column] = f"{DERIVED[column][0]} / {DERIVED[column][1]}"
            continue
        var = cb.variable(column)
        suffix = " (reverse-coded)" if var.reverse else ""
        column_labels[column] = f"{var.text_en}{suffix} / {var.text_zh}"
        value_labels[column] = {float(o.code): f"{o.en} / {o.zh}" for o in var.options}
    value_labels["sector"] = {
        float(i): f"{s.en} / {s.zh}" for s, i in ((s, sector_codes[s.id]) for s in cb.sectors)
    }
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
