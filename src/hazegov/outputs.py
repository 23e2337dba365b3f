"""Writing outputs so that a failure or an interruption never leaves a partial file."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
