"""How the simulation study is split into jobs, and the check that its sizes include the study's.

Kept apart from :mod:`hazegov.robustness.simulation` so that the Snakefile can plan the jobs without
importing the statistics: every Snakemake start, dry run and no-op pays for what it imports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

__all__ = ["batch_replications", "check_population_model_matches", "check_simulation_sizes"]


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


def _names(value: object) -> set[str]:
    """The keys of a mapping or the entries of a list, as strings (nothing for anything else)."""
    if isinstance(value, dict):
        return {str(k) for k in value}
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def _mapping(value: object) -> dict:
    """A mapping of the model, or an empty one where the model has something else."""
    return value if isinstance(value, dict) else {}


def check_population_model_matches(population_model: str | Path, codebook: str | Path) -> None:
    """Refuse a population model that does not describe the questionnaire in use.

    The simulation draws synthetic exports of the codebook's questionnaire from the model: an
    item without a loading, a respondent group without a size or a control without its
    distribution would be drawn from nothing (or stop a job half-way, after the large-draw
    check), and a construct, item, group or control the codebook lacks means the model was
    written for another questionnaire. Checked while the workflow is planned, so a mismatch
    stops the run before any job. Every difference is listed, each naming the population
    model's file, its key and what is missing where; both directions are checked.

    Parameters
    ----------
    population_model
        The YAML population model (``simulation.population_model``).
    codebook
        The codebook in use (``survey.codebook``).

    Raises
    ------
    ConfigError
        Listing every mismatch.
    """
    import yaml

    from hazegov.errors import ConfigError, Violation
    from hazegov.survey.codebook import load_codebook

    path = Path(population_model)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError.single(
            path, "simulation-population-model", f"cannot read the population model: {exc}"
        ) from None
    raw = raw if isinstance(raw, dict) else {}
    cb = load_codebook(codebook)

    constructs = {c.id for c in cb.constructs}
    items = {v.name for v in cb.likert_items}
    groups = {o.id for o in cb.respondent_group.options if o.id is not None}
    sectors = {s.id for s in cb.sectors}
    controls = {v.name for v in cb.demographics}
    structural = _mapping(raw.get("structural"))
    model_constructs = _names(raw.get("exogenous")) | set(map(str, structural))
    for predictors in structural.values():
        model_constructs |= _names(predictors)
    intercepts = _names(raw.get("intercepts")) - {"default"}
    shifts = _mapping(raw.get("sector_mean_shifts"))
    shifted = set().union(*(_names(v) for v in shifts.values()))
    demographics = _mapping(raw.get("demographics"))
    by_sector = set().union(*(_names(v) for v in demographics.values()))

    what = "constructs", "items", "respondent groups", "respondent sectors", "controls"
    # (key of the model, what it names, what the codebook has, whether every one must be named)
    comparisons = [
        ("exogenous/structural", model_constructs, constructs, what[0], True),
        ("loadings", _names(raw.get("loadings")), items, what[1], True),
        ("intercepts", intercepts, items, what[1], False),
        ("group_sizes", _names(raw.get("group_sizes")), groups, what[2], True),
        ("sector_mean_shifts", _names(shifts), sectors, what[3], True),
        ("sector_mean_shifts", shifted, constructs, what[0], False),
        ("demographics", _names(demographics), controls, what[4], True),
        ("demographics", by_sector - {"default"}, sectors, what[3], False),
    ]
    problems = []
    for key, named, known, kind, every in comparisons:
        extra = sorted(named - known)
        if extra:
            problems.append(
                Violation(
                    str(path),
                    "population-model-codebook",
                    f"names {kind} {extra} that the codebook {codebook} lacks",
                    column=key,
                )
            )
        absent = sorted(known - named) if every else []
        if absent:
            problems.append(
                Violation(
                    str(path),
                    "population-model-codebook",
                    f"lacks the codebook's {kind} {absent} (codebook {codebook}); "
                    "the simulation draws every one of them from this model",
                    column=key,
                )
            )
    if problems:
        raise ConfigError(problems)
