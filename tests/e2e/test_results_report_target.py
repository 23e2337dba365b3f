"""Issue 14 point 6, end to end: the workflow's `results_report` target builds the report.

The report's contents for the study's codebook and for another one are tested without the
workflow in tests/unit/test_results_report.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from hazegov.paper.checks import quarto_syntax, undefined_variables
from tests.support.workflow import make_workdir, run_snakemake

pytestmark = pytest.mark.e2e


def test_the_workflow_target_builds_and_renders_the_report(tmp_path):
    workdir = make_workdir(tmp_path)
    run = run_snakemake(workdir, "--cores", "2", "results_report")
    assert run.returncode == 0, run.stderr[-4000:]
    report = workdir / "results" / "report"
    assert not (workdir / "results" / "paper" / "_output").exists()  # the paper is not built
    variables = yaml.safe_load((report / "_variables.yml").read_text(encoding="utf-8"))
    assert quarto_syntax(report) == [] and undefined_variables(report) == []
    html = (report / "_output" / "index.html").read_text(encoding="utf-8")
    assert "{{&lt;" not in html and "{{<" not in html
    assert "Synthetic data." in html
    for heading in ("Sample and participant flow", "Item statistics", "Regressions"):
        assert heading in html
    flow = pd.read_csv(workdir / "results/processed/participant_flow.csv").set_index("step")
    assert variables["sample"]["analysed"] == flow.loc["analysed", "remaining"]
    assert f"holds {variables['sample']['received']} submissions" in html
    fit = pd.read_csv(workdir / "results/analysis/cfa/fit.csv").iloc[0]
    assert f"CFI = {fit['cfi']:.3f}" in html
    # the default target plans no report
    planned = run_snakemake(workdir, "--dry-run", "--quiet", "rules")
    assert planned.returncode == 0, planned.stderr[-4000:]
    assert "render_paper" in planned.stdout and "results_report" not in planned.stdout
