"""Results of many small computations in one job, each reused while nothing it depends on changes.

A Snakemake job is the unit Snakemake reruns, and a job that fits hundreds of multiverse
specifications reruns all of them when the settings of one change.  This cache lets such a job
reuse, member by member, what an earlier run computed: a member's result is stored under a key
that hashes everything it depends on (its settings, the content of the job's input files and
the source code of this package), so a reused result is the one a fresh computation would give.
Nothing is ever looked up by anything weaker than that key, so results never depend on how the
work is split into jobs, nor on what ran before.

A job's members are kept together in one file per job (its *shard*): a build writes a few dozen
cache files rather than thousands, so that the identifier scan, which reads every file under
``results/``, is not slowed by the cache. A shard holds the members of the current code and
inputs only, for every setting tried with them, and is rewritten once, when the job ends.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FrameShard",
    "ResultCache",
    "RowsShard",
    "code_digest",
    "file_digest",
    "keeps_its_values_in_parquet",
]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 over the source of the ``hazegov`` package: a code change invalidates the cache."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _write_atomically(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    """Write through a temporary file beside `path`: a killed job never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Keyed:
    """The key of a member: a hash of its settings, the namespace, the inputs and the code."""

    def __init__(self, directory: str | Path, inputs: Iterable[str | Path], namespace: str) -> None:
        self.directory = Path(directory)
        self.namespace = namespace
        self._base = _canonical(
            {
                "namespace": namespace,
                "code": code_digest(),
                "inputs": [file_digest(p) for p in inputs],
            }
        )
        self.base_digest = hashlib.sha256(self._base.encode("utf-8")).hexdigest()
        self.hits = 0
        self.misses = 0

    def key(self, settings: Mapping[str, Any]) -> str:
        """The key of a member: its settings on top of the inputs and the code."""
        text = self._base + _canonical(dict(settings))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _shard_path(self, shard: str, suffix: str) -> Path:
        return self.directory / self.namespace / f"{shard}{suffix}"

    def _kept_table(self, path: Path) -> tuple[pd.DataFrame, dict[str, slice]] | None:
        """A parquet shard made with this code and these inputs, and each member's rows (one
        run: `save` writes a member's rows together); None for a missing, damaged or stale
        one (its members can never be looked up again)."""
        try:
            kept = pd.read_parquet(path)
        except (OSError, ValueError):
            return None
        if kept.attrs.get("base") != self.base_digest or FrameShard.KEY not in kept.columns:
            return None
        keys = kept[FrameShard.KEY].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else []
        runs = {str(keys[a]): slice(a, b) for a, b in itertools.pairwise([*starts, len(keys)])}
        if len(runs) != len(starts):  # a member's rows apart: not written by `save`
            return None
        return kept, runs


class ResultCache(_Keyed):
    """JSON results under ``directory``, keyed by settings, input content and code.

    Parameters
    ----------
    directory
        Where the results are kept (not an output of any rule: deleting it only costs time).
    inputs
        The files every member's result depends on.
    namespace
        Keeps the members of different kinds (e.g. sample variants and specifications) apart.
    shard
        The job's name (e.g. its batch): its members are kept in one file, written by `save`;
        a member missing there is looked up in the other jobs' shards.

    Examples
    --------
    >>> cache = ResultCache("results/cache", ["responses.parquet"], "spec", "g1")  # doctest: +SKIP
    >>> key = cache.key({"estimator": "ols"})  # doctest: +SKIP
    >>> cache.get(key) or cache.put(key, fit())  # doctest: +SKIP
    >>> cache.save()  # doctest: +SKIP
    """

    def __init__(
        self,
        directory: str | Path,
        inputs: Iterable[str | Path],
        namespace: str,
        shard: str,
    ) -> None:
        super().__init__(directory, inputs, namespace)
        self.path = self._shard_path(shard, ".json")
        self._records: dict[str, Any] = self._members(self.path)
        self._others: dict[str, Any] | None = None
        self._changed = False

    def _members(self, path: Path) -> dict[str, Any]:
        """A shard's members, if they were made with this code and these inputs."""
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        # members of other code or inputs can never be looked up again: left behind
        if isinstance(kept, dict) and kept.get("base") == self.base_digest:
            return dict(kept.get("members", {}))
        return {}

    def _from_other_shards(self, key: str) -> Any:
        """A member kept by another job (the work split otherwise), read on the first miss."""
        if self._others is None:
            self._others = {}
            for path in sorted((self.directory / self.namespace).glob("*.json")):
                if path != self.path:
                    self._others.update(self._members(path))
        return self._others.get(key)

    def get(self, key: str) -> dict[str, Any] | None:
        record = self._records.get(key)
        if record is None and (record := self._from_other_shards(key)) is not None:
            self._records[key] = record  # the job's own shard stays complete
            self._changed = True
        if record is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(json.dumps(record))

    def put(self, key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``record`` and return it as it will be read back (through JSON)."""
        text = json.dumps(dict(record), sort_keys=True, ensure_ascii=False)
        self._records[key] = json.loads(text)
        self._changed = True
        return json.loads(text)

    def save(self) -> None:
        """Write the shard, if members were added."""
        if not self._changed:
            return
        members = dict(sorted(self._records.items()))
        text = json.dumps(
            {"base": self.base_digest, "members": members}, sort_keys=True, ensure_ascii=False
        )
        _write_atomically(self.path, lambda h: h.write(text + "\n"))
        self._changed = False


# dtypes that parquet stores and pandas reads back as they were, value for value and bit for bit
# (missing values and NaT included): test_result_cache checks each
PARQUET_STABLE_DTYPES = frozenset(
    {"int64", "Int64", "float64", "bool", "boolean", "datetime64[ns]"}
)


def keeps_its_values_in_parquet(frame: pd.DataFrame) -> bool:
    """Whether `frame` is what a parquet round trip (``index=False``) would give back.

    True for a frame of text column names, a default row index and columns of
    `PARQUET_STABLE_DTYPES` only. A simulated export is such a frame: `FrameShard` then skips
    the round trip (about 20 ms per replication) that makes other frames read as they will be
    read back.

    Examples
    --------
    >>> keeps_its_values_in_parquet(pd.DataFrame({"q1": pd.array([1, None], dtype="Int64")}))
    True
    >>> keeps_its_values_in_parquet(pd.DataFrame({"text": ["a", "b"]}))
    False
    """
    index = frame.index
    return (
        not frame.attrs
        and isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
        and frame.columns.name is None
        and frame.columns.is_unique
        and all(type(name) is str for name in frame.columns)
        and all(str(dtype) in PARQUET_STABLE_DTYPES for dtype in frame.dtypes)
    )


class FrameShard(_Keyed):
    """Data frames of one job in one parquet file, each under its member's key.

    Used for the simulation's ingested exports: one file per batch of replications instead of
    one per replication. A frame is returned as parquet gives it back, whether it was just
    stored or read from an earlier run, so the two give the same values and types (a frame
    that parquet gives back unchanged, `keeps_its_values_in_parquet`, is not sent through it).

    Parameters
    ----------
    directory, inputs, namespace
        As for `ResultCache`.
    shard
        The job's name; the file is ``<directory>/<namespace>/<shard>.parquet``.
    """

    KEY = "_cache_member"

    def __init__(
        self, directory: str | Path, inputs: Iterable[str | Path], namespace: str, shard: str
    ) -> None:
        super().__init__(directory, inputs, namespace)
        self.path = self._shard_path(shard, ".parquet")
        # the shard is read when a member is first asked for, and a kept frame cut from it then:
        # a job that needs none of its members (or a few) does not pay for all of them
        self._kept: pd.DataFrame | None = None
        self._kept_rows: dict[str, slice] | None = None
        self._frames: dict[str, pd.DataFrame] = {}
        self._changed = False

    def _read(self) -> dict[str, slice]:
        if self._kept_rows is None:
            kept = self._kept_table(self.path)
            self._kept, self._kept_rows = kept if kept is not None else (None, {})
        return self._kept_rows

    def _frame(self, key: str) -> pd.DataFrame | None:
        if key not in self._frames and key in self._read():
            rows = self._kept.iloc[self._read()[key]]  # type: ignore[union-attr]
            self._frames[key] = rows.drop(columns=self.KEY).reset_index(drop=True)
        return self._frames.get(key)

    def get(self, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The frame kept under `key`, or `compute()`'s, kept for `save`."""
        if (frame := self._frame(key)) is not None:
            self.hits += 1
            return frame
        self.misses += 1
        frame = compute()
        if not keeps_its_values_in_parquet(frame):
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            frame = pd.read_parquet(io.BytesIO(buffer.getvalue()))
        self._frames[key] = frame
        self._changed = True
        return frame

    def save(self) -> None:
        """Write the shard (every frame kept, in key order), if a frame was added."""
        if not self._changed:
            return
        keys = sorted({*self._frames, *self._read()})
        together = pd.concat(
            [self._frame(k).assign(**{self.KEY: k}) for k in keys],  # type: ignore[union-attr]
            ignore_index=True,
        )
        together.attrs = {"base": self.base_digest}
        _write_atomically(self.path, lambda h: together.to_parquet(h, index=False), mode="wb")
        self._changed = False


class RowsShard(_Keyed):
    """Lists of result rows (flat mappings of numbers, text, booleans) of one job, one table.

    Used for the simulation's model rows: kept as one parquet table per batch, because the
    identifier scan reads a parquet file's text cells only, where a JSON file is all text. A
    computed list is returned as JSON gives it back (what a parquet round trip of every small
    list would cost tens of CPU-seconds a build); a kept one as parquet gives it back, the same
    values, with a missing number NaN where JSON has None.

    Parameters
    ----------
    directory, inputs, namespace
        As for `ResultCache`.
    shard
        The job's name; the file is ``<directory>/<namespace>/<shard>.parquet``.
    """

    KEY = FrameShard.KEY

    def __init__(
        self, directory: str | Path, inputs: Iterable[str | Path], namespace: str, shard: str
    ) -> None:
        super().__init__(directory, inputs, namespace)
        self.path = self._shard_path(shard, ".parquet")
        self._rows: dict[str, list[dict[str, Any]]] = {}
        kept = self._kept_table(self.path)
        if kept is not None:  # one conversion for the whole table, then cut by member
            records = kept[0].drop(columns=self.KEY).to_dict("records")
            self._rows = {key: records[rows] for key, rows in kept[1].items()}
        self._changed = False

    def get(self, key: str, compute: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """The rows kept under `key`, or `compute()`'s, kept for `save`."""
        if key in self._rows:
            self.hits += 1
            return [dict(row) for row in self._rows[key]]
        self.misses += 1
        rows = json.loads(json.dumps(compute()))
        self._rows[key] = rows
        self._changed = True
        return [dict(row) for row in rows]

    def save(self) -> None:
        """Write the shard (every key's rows, in key order), if rows were added."""
        if not self._changed:
            return
        records = [{**row, self.KEY: key} for key in sorted(self._rows) for row in self._rows[key]]
        table = pd.DataFrame.from_records(records)
        table.attrs = {"base": self.base_digest}
        _write_atomically(self.path, lambda h: table.to_parquet(h, index=False), mode="wb")
        self._changed = False
