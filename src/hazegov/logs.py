"""Logging for workflow scripts: one log file per rule, the traceback of a failure included."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path


def _seconds_since_start() -> float | None:
    """Wall seconds since this process started (Linux /proc), imports included."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")  # seconds after boot
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return None


def job_resources() -> str:
    """Wall time since start, CPU time and peak memory of this process, for the rule's log."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = _seconds_since_start()
    clock = f"{wall:.1f} s wall, " if wall is not None else ""
    return (
        f"{clock}{usage.ru_utime + usage.ru_stime:.1f} s CPU, peak {usage.ru_maxrss / 1024:.0f} MB"
    )


def relative_paths(text: str, root: str | Path | None = None) -> str:
    """`text` with paths under the project (`root`, the working directory by default) made
    relative to it, and paths under the Python installation written from ``<python>``."""
    base = Path(root) if root is not None else Path.cwd()
    prefixes = {
        f"{base.resolve()}{os.sep}": "",
        f"{base}{os.sep}": "",
        f"{Path(sys.prefix)}{os.sep}": f"<python>{os.sep}",
        f"{Path(sys.base_prefix)}{os.sep}": f"<python>{os.sep}",
    }
    for prefix, short in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(prefix, short)
    return text


PREAMBLE_TAG = "snakemake-job-properties"


def tidy_notebook_log(raw: str | Path, clean: str | Path, root: str | Path | None = None) -> None:
    """Keep an executed notebook (a rule's log) without the absolute paths Snakemake puts in it.

    Snakemake runs a ``notebook:`` rule with a first cell of its own (tagged
    ``snakemake-job-properties``: ``sys.path`` entries, ``os.chdir`` to the project and the
    pickled job, all with absolute paths) and saves the executed notebook as the rule's log.
    That cell is not part of the notebook a reviewer edits (Snakemake removes it when saving an
    edited notebook), so it is removed here too; paths in the remaining cells and outputs are
    made relative (`relative_paths`). The executed copy `raw` is then deleted, so that the
    logs hold the tidy copy only.

    Parameters
    ----------
    raw : str or Path
        The executed notebook as Snakemake saved it.
    clean : str or Path
        Where the tidy copy goes.
    root : str or Path, optional
        The project directory; the working directory by default.
    """
    import json

    from hazegov.io import read_json, write_text

    notebook = read_json(raw)
    notebook["cells"] = [
        cell
        for cell in notebook["cells"]
        if PREAMBLE_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    text = json.dumps(notebook, ensure_ascii=False, indent=1, sort_keys=True)
    # paths inside JSON strings: their separators are not escaped by json.dumps
    write_text(clean, relative_paths(text, root) + "\n")
    Path(raw).unlink()


class RelativePathFormatter(logging.Formatter):
    """Log lines with the project directory and the Python installation left out of paths.

    Logs are kept and shared (attached to a bug report, scanned by the identifier gate, which
    fails on any absolute path): an absolute path tells a reader the analyst's user name and
    folders. Paths under the working directory are written relative to it, paths under the
    Python installation from ``<python>``; a traceback stays readable.
    """

    def format(self, record: logging.LogRecord) -> str:
        return relative_paths(super().format(record))


@contextlib.contextmanager
def rule_log(path: str | Path | None) -> Iterator[logging.Logger]:
    """Log to the rule's log file and stderr; record an exception, then re-raise it.

    Every rule runs with single-threaded BLAS: a multithreaded BLAS sums in an order that
    depends on the machine's load, which changes the last digits of fitted values and so the
    bytes of the outputs. Parallelism comes from Snakemake running jobs side by side.
    """
    from threadpoolctl import threadpool_limits

    blas = threadpool_limits(limits=1)
    logger = logging.getLogger("hazegov")
    logger.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w", encoding="utf-8"))
    fmt = RelativePathFormatter("%(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    try:
        yield logger
        logger.info("job resources: %s", job_resources())
    except Exception:
        logger.exception("rule failed")
        raise
    finally:
        blas.restore_original_limits()
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
