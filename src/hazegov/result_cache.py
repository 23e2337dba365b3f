"""Results of many small computations in one job, each reused while nothing it depends on changes.

A Snakemake job is the unit Snakemake reruns, and a job that fits hundreds of multiverse
specifications reruns all of them when the settings of one change.  This cache lets such a job
reuse, member by member, what an earlier run computed: a member's result is stored under a key
that hashes everything it depends on (its settings, the content of the job's input files and
the source code of this package), so a reused result is the one a fresh computation would give.
Nothing is ever looked up by anything weaker than that key, so results never depend on how the
work is split into jobs, nor on what ran before.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["ResultCache", "code_digest", "file_digest"]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 over the source of the ``hazegov`` package: a code change invalidates the cache."""
    root = Path(__file__).resolve().parent
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


class ResultCache:
    """JSON results under ``directory``, keyed by settings, input content and code.

    Parameters
    ----------
    directory
        Where the results are kept (not an output of any rule: deleting it only costs time).
    inputs
        The files every member's result depends on.
    namespace
        Keeps the members of different kinds (e.g. sample variants and specifications) apart.

    Examples
    --------
    >>> cache = ResultCache("results/cache", ["responses.parquet"], "spec")  # doctest: +SKIP
    >>> key = cache.key({"estimator": "ols"})  # doctest: +SKIP
    >>> cache.get(key) or cache.put(key, fit())  # doctest: +SKIP
    """

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
        self.hits = 0
        self.misses = 0

    def key(self, settings: Mapping[str, Any]) -> str:
        """The key of a member: its settings on top of the inputs and the code."""
        text = self._base + _canonical(dict(settings))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / self.namespace / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return record

    def put(self, key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``record`` (atomically: a killed job never leaves half a result) and return it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(dict(record), sort_keys=True, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return json.loads(text)
