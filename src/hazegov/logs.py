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
    fmt = logging.Formatter("%(levelname)s %(name)s: %(message)s")
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
