"""Run the package function of the rule that calls this script, with the rule's files as arguments.

The function is the rule's entry of ``workflow/stages.yaml``. Its arguments come from the rule
by name, so that no name is written twice:

- a named input or a param is the argument of the same name;
- a named output ``x`` is the argument ``x_out``, or else ``x``; an output that matches no
  argument (or one an input already fills, such as the air strand's table ``official``) goes
  into a dict argument under its name: ``ols_coefficients`` into ``ols_tables["coefficients"]``,
  any other into ``tables`` (or ``outputs``);
- unnamed inputs are dependencies only (they order the job or rerun it), not arguments.

A name the function does not take is an error, so a renamed argument cannot be skipped quietly.
"""

# no `from __future__` import: Snakemake puts its own lines before the script's
import importlib
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

GROUPS = ("tables", "outputs")


def stage_function(rule: str, stages_file: str | Path) -> Callable[..., Any]:
    """The package function that ``workflow/stages.yaml`` names for ``rule``."""
    stages = yaml.safe_load(Path(stages_file).read_text(encoding="utf-8"))
    if rule not in stages:
        raise KeyError(f"rule {rule!r} has no entry in {stages_file}")
    module, _, name = stages[rule].rpartition(".")
    return getattr(importlib.import_module(module), name)


def _plain(value: Any) -> Any:
    """A file as a str and a list of files as a list of str (not Snakemake's own types)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def stage_arguments(
    function: Callable[..., Any],
    inputs: Iterable[tuple[str, Any]],
    outputs: Iterable[tuple[str, Any]],
    params: Iterable[tuple[str, Any]],
    rule: str = "?",
) -> dict[str, Any]:
    """The keyword arguments of ``function`` from a rule's named inputs, outputs and params."""
    taken = set(inspect.signature(function).parameters)
    where = f"rule {rule}: {function.__module__}.{function.__name__}"
    kwargs: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in kwargs:
            raise TypeError(f"{where} gets {name!r} twice")
        kwargs[name] = _plain(value)

    for kind, items in (("input", inputs), ("param", params)):
        for name, value in items:
            if name not in taken:
                raise TypeError(f"{where} takes no argument {name!r} (the rule's {kind})")
            put(name, value)
    for name, value in outputs:
        if f"{name}_out" in taken:
            put(f"{name}_out", value)
        elif name in taken and name not in kwargs:
            put(name, value)
        else:
            prefix, _, key = name.partition("_")
            if key and f"{prefix}_tables" in taken:
                group, key = f"{prefix}_tables", key
            else:
                group, key = next((g for g in GROUPS if g in taken), ""), name
            if not group:
                raise TypeError(f"{where} takes no argument for the rule's output {name!r}")
            kwargs.setdefault(group, {})[key] = _plain(value)
    return kwargs


def run(smk: Any) -> None:
    """Run the stage of the Snakemake job ``smk`` (the ``snakemake`` object of a script)."""
    from hazegov.logs import rule_log

    with rule_log(smk.log[0]):
        # Snakemake runs a copy of this script; scriptdir is workflow/scripts
        function = stage_function(smk.rule, Path(smk.scriptdir).parent / "stages.yaml")
        items = (smk.input.items(), smk.output.items(), smk.params.items())
        function(**stage_arguments(function, *items, rule=smk.rule))


if "snakemake" in globals():
    run(globals()["snakemake"])
