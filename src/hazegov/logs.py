"""Logging for workflow scripts: one log file per rule, the traceback of a failure included."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path


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
    except Exception:
        logger.exception("rule failed")
        raise
    finally:
        blas.restore_original_limits()
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
