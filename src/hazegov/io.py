"""Reading and writing the workflow's files: the one module every stage writes through.

Owns the atomic write (a failure or an interruption never leaves a partial file), the CSV,
JSON, text and parquet writers, the provenance (synthetic or real) a parquet file carries in its
own metadata, and the one synthetic/real label every output gives its data.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

PROVENANCE_KEY = b"hazegov.provenance"


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it into place only if the block succeeds.

    A temporary file left by a killed run (`.name.XXXX.part`) is removed on the next write of
    the same target, so an interrupted and resumed build holds the same files as a clean one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        stale.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def stage_files(sources: list[str | Path], staged: list[str | Path]) -> None:
    """Copy files pairwise into a build directory, each atomically; the sources stay untouched."""
    for source, target in zip(sources, staged, strict=True):
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def write_csv(frame: pd.DataFrame, path: str | Path, float_format: str = "%.6g") -> None:
    """CSV as every stage writes it; six significant digits unless `float_format` says more."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)


def write_json(record: dict[str, Any], path: str | Path) -> None:
    write_text(
        path, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    )


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(frame: pd.DataFrame, path: str | Path, provenance: dict[str, Any]) -> None:
    """Parquet with the data source (synthetic or real) stored in the file's own metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True, ensure_ascii=False).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_provenance(path: str | Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(PROVENANCE_KEY, b"{}"))


def data_label(synthetic: bool) -> str:
    """What every output says of its data: "synthetic" or "real"."""
    return "synthetic" if synthetic else "real"


def source_label(provenance: Mapping[str, Any]) -> str:
    """The label (:func:`data_label`) of the data a provenance record describes."""
    return data_label(bool(provenance.get("synthetic")))
