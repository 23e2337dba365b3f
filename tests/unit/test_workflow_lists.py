"""The paper's lists come from the rules, and the rules run the package through one entry point.

The workflow is parsed (not built) in a copy of the checkout; a probe appended to the copy's
Snakefile writes what common.smk derives from the rules once every rule is defined.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hazegov.paper.stages import made_by_captions
from hazegov.strands import STRANDS
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

# the lists before they were derived, every strand on (the paper asks for the same parts)
SURVEY_TABLES = {
    "sample_by_group",
    "reliability",
    "validity",
    "invariance",
    "group_comparisons",
    "ols",
    "ordinal",
}
SURVEY_FIGURES = {
    "participant_flow",
    "scree_parallel_analysis",
    "efa_loadings",
    "path_model",
    "group_comparison",
    "coefficient_forest",
    "rule_graph",
}

PROBE = """

import json as _json

_json_out = {
    "tables": paper_tables(),
    "figures": paper_figures(),
    "fragments": analysis_variables(),
    "fragment_rules": fragment_rules(),
    "made_by": made_by(),
    "rules": {
        r.name: {
            "script": str(r.script or ""),
            "input": [n for n, _ in r.input.items()],
            "output": [n for n, _ in r.output.items()],
            "params": [n for n, _ in r.params.items()],
        }
        for r in workflow.rules
    },
}
Path("lists.json").write_text(_json.dumps(_json_out), encoding="utf-8")
"""

EXTRA_RULE = """

rule extra_table:
    input:
        sample="results/analysis/analysis_sample.parquet",
    output:
        table=f"{PAPER_BUILD_DIR}/tables/extra.md",
        figure=f"{PAPER_BUILD_DIR}/figures/extra.png",
        variables="results/analysis/extra/variables.yml",
    log:
        "logs/extra_table.log",
    script:
        "../scripts/run_stage.py"
"""


def _project(base: Path) -> Path:
    """A copy of the checkout's workflow, paper, config and raw data, with the probe."""
    for name in ("workflow", "paper", "config", "data"):
        shutil.copytree(
            ROOT / name, base / name, ignore=shutil.ignore_patterns("__pycache__", ".snakemake")
        )
    shutil.copy(ROOT / "Snakefile", base / "Snakefile")
    with (base / "Snakefile").open("a", encoding="utf-8") as snakefile:
        snakefile.write(PROBE)
    return base


def _parse(project: Path, *args: str) -> dict:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "snakemake", "--snakefile", str(project / "Snakefile")),
            *("--directory", str(project), "--list-rules", *args),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads((project / "lists.json").read_text(encoding="utf-8"))


def _names(paths: list[str], folder: str) -> set[str]:
    prefix = f"results/paper/{folder}/"
    assert all(p.startswith(prefix) for p in paths), paths
    return {Path(p).stem for p in paths}


def _stage_arguments():
    spec = importlib.util.spec_from_file_location(
        "run_stage", ROOT / "workflow" / "scripts" / "run_stage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return _project(tmp_path_factory.mktemp("lists"))


@pytest.fixture(scope="module")
def lists(project) -> dict:
    return _parse(project)


def test_the_paper_lists_are_the_rules_paper_outputs(lists):
    strand_tables = {t for parts in STRANDS.values() for t in parts.tables}
    strand_figures = {f for parts in STRANDS.values() for f in parts.figures}
    assert _names(lists["tables"], "tables") == SURVEY_TABLES | strand_tables
    assert _names(lists["figures"], "figures") == SURVEY_FIGURES | strand_figures
    assert len(lists["tables"]) == len(set(lists["tables"]))
    assert {f for parts in STRANDS.values() for f in parts.fragments} <= set(lists["fragments"])
    assert "results/analysis/cfa/variables.yml" in lists["fragments"]
    assert len(lists["fragments"]) == 13
    # the provenance table's rule of each fragment is the rule that writes it
    assert lists["fragment_rules"]["results/analysis/groups/variables.yml"] == "group_comparisons"
    assert list(lists["fragment_rules"]) == lists["fragments"]
    # not the merged files of the paper and of the results report
    assert not [f for f in lists["fragments"] if Path(f).name == "_variables.yml"]


def test_every_table_and_figure_has_its_caption_link_to_the_package_function(lists):
    made_by = lists["made_by"]
    labels = {label for parts in STRANDS.values() for label in parts.labels}
    assert labels <= set(made_by)
    assert made_by["tbl-reliability"] == {
        "rule": "reliability",
        "function": "hazegov.analysis.stages.run_reliability",
    }
    # a figure's label is the paper's own, not its file name
    assert made_by["fig-scree"]["rule"] == "factor_structure"
    assert made_by["fig-rule-graph"]["rule"] == "reproducibility_appendix"
    assert len(made_by) == len(lists["tables"]) + len(lists["figures"])
    captions = made_by_captions(made_by, "")
    assert captions["tbl_reliability"] == (
        "Made by rule `reliability` ([`hazegov.analysis.stages.run_reliability`]"
        "(../../../src/hazegov/analysis/stages.py))."
    )
    for caption in captions.values():
        assert "workflow/scripts" not in caption
        target = caption.rsplit("(../../../", 1)[1].rstrip(").")
        assert (ROOT / target).is_file(), caption


def test_a_strand_off_drops_its_tables_figures_numbers_and_captions(project, tmp_path):
    off = tmp_path / "off.yaml"
    off.write_text(yaml.safe_dump({"strands": {"air_quality": False}}), encoding="utf-8")
    lists = _parse(project, "--configfile", str(off))
    air = STRANDS["air_quality"]
    assert not _names(lists["tables"], "tables") & set(air.tables)
    assert not _names(lists["figures"], "figures") & set(air.figures)
    assert not set(lists["fragments"]) & set(air.fragments)
    assert not set(lists["made_by"]) & set(air.labels)
    assert "tbl-multiverse" in lists["made_by"] and "tbl-ols" in lists["made_by"]


def test_a_table_figure_and_variables_file_declared_by_a_rule_reach_the_paper(tmp_path):
    """Adding a table touches one place: the rule that makes it."""
    project = _project(tmp_path)
    with (project / "workflow" / "rules" / "describe.smk").open("a", encoding="utf-8") as rules:
        rules.write(EXTRA_RULE)
    lists = _parse(project)
    assert "results/paper/tables/extra.md" in lists["tables"]
    assert "results/paper/figures/extra.png" in lists["figures"]
    assert "results/analysis/extra/variables.yml" in lists["fragments"]
    assert lists["made_by"]["tbl-extra"]["rule"] == "extra_table"
    assert lists["made_by"]["fig-extra"]["rule"] == "extra_table"
    # a rule that runs no function of workflow/stages.yaml: its caption names the rule only
    assert lists["made_by"]["tbl-extra"]["function"] is None
    assert made_by_captions(lists["made_by"], "")["tbl_extra"] == "Made by rule `extra_table`."


def test_every_stage_rule_names_a_function_that_takes_its_inputs_outputs_and_params(lists):
    run_stage = _stage_arguments()
    stages = yaml.safe_load((ROOT / "workflow" / "stages.yaml").read_text(encoding="utf-8"))
    staged = {n for n, r in lists["rules"].items() if r["script"].endswith("run_stage.py")}
    assert staged == set(stages)
    for name in sorted(staged):
        rule = lists["rules"][name]
        function = run_stage.stage_function(name, ROOT / "workflow" / "stages.yaml")
        kwargs = run_stage.stage_arguments(
            function,
            [(n, "in") for n in rule["input"]],
            [(n, "out") for n in rule["output"]],
            [(n, "param") for n in rule["params"]],
            rule=name,
        )
        required = {
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        assert required <= set(kwargs), (name, sorted(required - set(kwargs)))


def test_stage_arguments_map_outputs_to_their_parameters():
    run_stage = _stage_arguments()

    def stage(sample, tables, ols_tables, summary_out, table_csv, min_cell_count=5):
        return None

    kwargs = run_stage.stage_arguments(
        stage,
        [("sample", "s.parquet")],
        [
            ("fit", "fit.csv"),
            ("ols_coefficients", "ols.csv"),
            ("summary", "summary.json"),
            ("table_csv", "models.csv"),
        ],
        [("min_cell_count", 3)],
    )
    assert kwargs == {
        "sample": "s.parquet",
        "tables": {"fit": "fit.csv"},
        "ols_tables": {"coefficients": "ols.csv"},
        "summary_out": "summary.json",
        "table_csv": "models.csv",
        "min_cell_count": 3,
    }
    with pytest.raises(TypeError, match="takes no argument 'seed'"):
        run_stage.stage_arguments(stage, [], [], [("seed", 1)])


def test_the_scripts_hold_no_noqa_wall():
    for script in (ROOT / "workflow" / "scripts").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        assert "noqa" not in text, script.name
        # Snakemake puts its own lines first, before which a __future__ import would have to be
        assert not re.search(r"^from __future__", text, re.MULTILINE), script.name
