"""How the simulation study is split into jobs, and the check that its sizes include the study's.

Kept apart from :mod:`hazegov.simulation` so that the Snakefile can plan the jobs without
importing the statistics: every Snakemake start, dry run and no-op pays for what it imports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

__all__ = ["batch_replications", "check_simulation_sizes"]


def batch_replications(total: int, batch_size: int, batch: int) -> list[int]:
    """Replication numbers of one batch (job): batch b holds b*size up to the total."""
    if total < 1 or batch_size < 1:
        raise ValueError("simulation: replications and batch size must be positive")
    n_batches = math.ceil(total / batch_size)
    if not 0 <= batch < n_batches:
        raise ValueError(f"simulation: batch {batch} outside 0..{n_batches - 1}")
    return list(range(batch * batch_size, min((batch + 1) * batch_size, total)))


def check_simulation_sizes(sizes: Sequence[int], population_model: str | Path) -> None:
    """Refuse, before any job runs, sizes without the study's (the model's n_respondents)."""
    import yaml

    from hazegov.errors import ConfigError

    path = Path(population_model)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        n = int(raw["n_respondents"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError.single(
            path, "simulation-population-model", f"cannot read n_respondents: {exc}"
        ) from None
    if n not in [int(s) for s in sizes]:
        raise ConfigError.single(
            path,
            "simulation-sizes",
            f"simulation.sizes {list(sizes)} must include the study's size {n} "
            "(n_respondents of this population model)",
        )
