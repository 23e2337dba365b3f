"""End to end: the Snakemake DAG on the `.test` configuration, from raw export to paper."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from hazegov.privacy.disclosure import check_results
from tests.support.paths import CODEBOOK, ROOT
from tests.support.workflow import make_workdir, run_snakemake

pytestmark = pytest.mark.e2e


def _hashes(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and ".quarto" not in p.parts
    }


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    workdir = make_workdir(tmp_path_factory.mktemp("build_a"))
    run = run_snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_build_makes_data_sets_and_paper(build):
    results = build / "results"
    for name in (
        "processed/analysis.parquet",
        "release/haze_governance_survey_release.sav",
        "release/haze_governance_survey_release.csv",
        "release/data_dictionary.csv",
        "release/k_anonymity.json",
        "processed/participant_flow.csv",
        "tables/sample_by_group.csv",
        "paper/_variables.yml",
    ):
        assert (results / name).stat().st_size > 0, name
    html = (results / "paper/_output/index.html").read_text(encoding="utf-8")
    assert "Synthetic data. Every number" in html
    assert "Figure 1" in html and "Table 1" in html
    assert "北京雾霾治理问题新模式调查问卷" in html  # the appendix, in Chinese
    assert "data:image/png;base64" in html
    assert (results / "paper/_output/index.pdf").read_bytes().startswith(b"%PDF")
    variables = yaml.safe_load((results / "paper/_variables.yml").read_text(encoding="utf-8"))
    assert variables["data"]["synthetic"] is True
    assert (
        f">{variables['sample']['analysed']}<" in html
        or str(variables["sample"]["analysed"]) in html
    )


def test_every_published_table_suppresses_small_counts_and_says_so(build):
    config = yaml.safe_load((build / "config/config.yaml").read_text(encoding="utf-8"))
    min_count = config["privacy"]["min_cell_count"]
    results = build / "results"
    findings, missing_note = check_results(results, min_count)
    assert findings == [], "\n".join(map(str, findings))
    assert missing_note == []
    # The check saw the tables that carry counts.
    tables = results / "paper/tables"
    for name in ("sample_by_group.md", "reliability.md", "ols.md"):
        text = " ".join((tables / name).read_text(encoding="utf-8").split())
        assert f"Counts below {min_count} are suppressed (shown as <{min_count})." in text, name
    assert not (results / "processed/analysis.sav").exists()


def test_released_data_set_is_k_anonymous_and_leaves_out_the_withheld_columns(build):
    import json

    import pandas as pd

    config = yaml.safe_load((build / "config/config.yaml").read_text(encoding="utf-8"))
    release = config["privacy"]["release"]
    results = build / "results/release"
    report = json.loads((results / "k_anonymity.json").read_text(encoding="utf-8"))
    assert (
        report["k"] == release["k"] and report["quasi_identifiers"] == release["quasi_identifiers"]
    )
    assert report["smallest_class"] >= release["k"]
    frame = pd.read_csv(results / "haze_governance_survey_release.csv", encoding="utf-8")
    assert not set(release["withheld"]) & set(frame.columns)
    assert frame.groupby(release["quasi_identifiers"], dropna=False).size().min() >= release["k"]
    dictionary = pd.read_csv(results / "data_dictionary.csv")
    assert dictionary["variable"].tolist() == frame.columns.tolist()
    variables = yaml.safe_load((build / "results/paper/_variables.yml").read_text("utf-8"))
    assert variables["privacy"]["k"] == release["k"]
    assert variables["privacy"]["smallest_class"] == report["smallest_class"]


def test_release_that_is_not_k_anonymous_stops_the_build_and_writes_nothing(tmp_path):
    workdir = make_workdir(tmp_path / "rare")
    config = yaml.safe_load((workdir / "config/config.yaml").read_text(encoding="utf-8"))
    release = config["privacy"]["release"]
    # Education is fine-grained enough that some combinations are surely rarer than 5.
    release["quasi_identifiers"] = [*release["quasi_identifiers"], "education"]
    release["withheld"] = [c for c in release["withheld"] if c != "education"]
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump({"privacy": config["privacy"]}), encoding="utf-8")
    # The target goes first: --configfile takes every value after it.
    run = run_snakemake(
        workdir, "results/release/k_anonymity.json", "--cores", "2", "--configfile", str(strict)
    )
    assert run.returncode != 0
    log = (workdir / "logs/release_data_set.log").read_text(encoding="utf-8")
    assert "[rule: k-anonymity]" in log and "KAnonymityError" in log
    rare = [line for line in log.splitlines() if "[rule: k-anonymity]" in line]
    assert len(rare) >= 2
    assert all("education=" in line and "respondent" in line and "(k=5)" in line for line in rare)
    assert "rule release_data_set" in run.stdout + run.stderr
    release_dir = workdir / "results/release"
    left = [p for p in release_dir.rglob("*") if p.is_file()] if release_dir.exists() else []
    assert left == []


def test_rerun_with_nothing_changed_runs_no_job(build):
    run = run_snakemake(build, "--cores", "2", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "Nothing to be done" in run.stdout + run.stderr


def test_config_change_reruns_only_what_depends_on_it(build, tmp_path):
    config = yaml.safe_load((build / "config/config.yaml").read_text(encoding="utf-8"))
    config["exclusions"]["min_duration"]["seconds"] = 60
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    run = run_snakemake(build, "--cores", "2", "--dry-run", "--configfile", str(changed))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "clean_responses" in out and "render_paper" in out
    assert "rule ingest_export" not in out and "rule questionnaire_appendix" not in out


def test_the_identifier_locales_reach_the_redaction_and_the_scan(build, tmp_path):
    """privacy.identifier_locales reaches the ingest's redaction and the identifier scan.

    The test config lists the locales in the other order than the functions' default, so
    the order each reports shows the config was passed on; a changed list reruns the ingest
    for its changed params."""
    scan = json.loads((build / "results/privacy/identifier_scan.json").read_text("utf-8"))
    assert scan["locales"] == ["international", "CN"]
    ingest_log = (build / "logs/ingest_export.log").read_text("utf-8")
    assert "identifier patterns of: international, CN" in ingest_log
    changed = _override(tmp_path, "locales.yaml", {"privacy": {"identifier_locales": ["CN"]}})
    run = run_snakemake(build, "--cores", "2", "--dry-run", "--configfile", changed)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert {"ingest_export", "identifier_scan"} <= _planned_rules(run.stdout)
    block = out.split("rule ingest_export:", 1)[1].split("\n\n", 1)[0]
    assert "Params have changed" in block and "'CN'" in block


def test_two_clean_builds_in_different_directories_are_identical(build, tmp_path):
    other = make_workdir(tmp_path / "elsewhere")
    run = run_snakemake(other, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    first, second = _hashes(build / "results"), _hashes(other / "results")
    assert first.keys() == second.keys()
    differing = sorted(k for k in first if first[k] != second[k])
    assert differing == []


def test_bad_export_fails_with_a_clear_error_and_no_output(tmp_path):
    workdir = make_workdir(tmp_path / "bad")
    export = workdir / "data/raw/haze_governance_survey.csv"
    (workdir / "data/raw/haze_governance_survey.csv.synthetic.json").unlink()
    text = export.read_text(encoding="utf-8-sig").replace("非常同意", "很同意", 1)
    export.write_text(text, encoding="utf-8-sig")
    before = hashlib.sha256(export.read_bytes()).hexdigest()
    run = run_snakemake(workdir, "--cores", "2")
    assert run.returncode != 0
    log = (workdir / "logs/ingest_export.log").read_text(encoding="utf-8")
    assert "label-in-codebook" in log and "data/raw/haze_governance_survey.csv" in log
    assert "row " in log and "很同意" in log
    assert not (workdir / "results/interim/responses.parquet").exists()
    assert hashlib.sha256(export.read_bytes()).hexdigest() == before


def test_report_contains_the_figures(build):
    report = build / "report.html"
    run = run_snakemake(build, "--report", str(report))
    assert run.returncode == 0, run.stderr[-4000:]
    assert report.stat().st_size > 10_000
    assert "participant_flow.png" in report.read_text(encoding="utf-8", errors="replace")


def test_notebook_runs_on_the_build(build, monkeypatch):
    import nbclient
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks/explore_sample.ipynb", as_version=4)
    monkeypatch.setenv("HAZEGOV_RESULTS", str(build / "results"))
    monkeypatch.setenv("HAZEGOV_CODEBOOK", str(CODEBOOK))
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("synthetic data" in str(o) for o in outputs)


def test_build_runs_the_simulation_checks(build):
    import pandas as pd

    simulation = yaml.safe_load((build / "config/simulation.yaml").read_text(encoding="utf-8"))
    grid = simulation["simulation"]
    results = build / "results"
    batches = -(-grid["replications"] // grid["batch_size"])
    for n in grid["sizes"]:
        for batch in range(batches):
            assert (results / f"simulation/replications/n{n}_b{batch}.parquet").is_file()
    summary = pd.read_csv(results / "simulation/summary.csv")
    assert sorted(summary["n"].unique()) == sorted(grid["sizes"])
    assert (summary["replications"] == grid["replications"]).all()
    assert summary["coverage"].between(0, 1).all() and summary["power"].between(0, 1).all()
    truth = pd.read_csv(results / "simulation/truth.csv")
    assert set(truth["estimate"]) == set(summary["estimate"])
    table = (results / "paper/tables/simulation.md").read_text(encoding="utf-8")
    assert "{#tbl-simulation}" in table and "population model" in table
    assert (results / "paper/figures/simulation.png").stat().st_size > 10_000
    variables = yaml.safe_load((results / "paper/_variables.yml").read_text(encoding="utf-8"))
    assert variables["simulation"]["study_n"] in grid["sizes"]


def test_multiverse_outputs_cover_the_test_grid(build):
    import pandas as pd

    from hazegov.robustness.multiverse import specification_grid

    settings = yaml.safe_load((build / "config/multiverse.yaml").read_text(encoding="utf-8"))
    grid = specification_grid(settings["multiverse"])
    results = build / "results"
    for name in (
        "multiverse/summary.json",
        "multiverse/specifications.csv",
        "multiverse/summary_by_dimension.csv",
        "paper/tables/multiverse.md",
        "paper/tables/multiverse_by_choice.md",
        "paper/figures/specification_curve.png",
    ):
        assert (results / name).stat().st_size > 0, name
    import json

    groups = sorted((results / "multiverse/groups").glob("*.json"))
    assert len(groups) == settings["multiverse"]["jobs"]
    records = [r for g in groups for r in json.loads(g.read_text(encoding="utf-8"))["records"]]
    assert sorted(r["spec"] for r in records) == [s.id for s in grid]
    estimates = pd.read_csv(results / "multiverse/estimates.csv")
    config = yaml.safe_load((build / "config/config.yaml").read_text(encoding="utf-8"))
    effects = config["analysis"]["regression"]["predictors"]
    assert len(estimates) == len(grid) * len(effects)
    assert not estimates.duplicated(["spec", "effect"]).any()
    assert set(estimates["effect"]) == set(effects)
    variables = yaml.safe_load((results / "paper/_variables.yml").read_text(encoding="utf-8"))
    assert variables["multiverse"]["n_specifications"] == len(grid)


def test_paper_pdf_has_no_overprinted_or_off_page_text(build):
    """Every glyph of every page of the rendered PDF, read back from the PDF; the pages are kept
    as PNG images in results/test-artifacts/ for a person to look at."""
    from hazegov.paper.checks import check_paper, format_problems
    from hazegov.paper.pdf_layout import render_pages

    paper = build / "results" / "paper"
    pdf = paper / "_output" / "index.pdf"
    artifacts = ROOT / "results" / "test-artifacts" / "pdf-pages"
    shutil.rmtree(artifacts, ignore_errors=True)
    pages = render_pages(pdf, artifacts)
    assert len(pages) > 10
    problems = check_paper(paper, ROOT / "paper", pdf=pdf)
    assert problems == [], "\n" + format_problems(problems)


# ------------------------------------------------------------------------------ strands by config

STRAND_RULES = {
    "air_quality": {"air_quality_data", "air_quality_analysis"},
    "policy": {"policy_corpus", "policy_text_analysis"},
    "multiverse": {"multiverse_group", "multiverse_summary"},
    "simulation": {"simulation_truth", "simulation_replications", "simulation_summary"},
}


def _planned_rules(output: str) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):$", output, re.MULTILINE))


def _override(tmp_path: Path, name: str, content: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def dry_workdir(tmp_path_factory) -> Path:
    return make_workdir(tmp_path_factory.mktemp("strands"))


def test_with_every_strand_on_the_dry_run_plans_every_strand_and_the_paper(dry_workdir):
    run = run_snakemake(dry_workdir, "--dry-run")
    assert run.returncode == 0, run.stderr[-4000:]
    planned = _planned_rules(run.stdout)
    assert set().union(*STRAND_RULES.values()) | {"render_paper"} <= planned


@pytest.mark.parametrize("strand", sorted(STRAND_RULES))
def test_a_strand_switched_off_plans_none_of_its_rules(dry_workdir, tmp_path, strand):
    off = _override(tmp_path, "off.yaml", {"strands": {strand: False}})
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", off)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    planned = _planned_rules(run.stdout)
    assert not planned & STRAND_RULES[strand]
    others = set().union(*(rules for name, rules in STRAND_RULES.items() if name != strand))
    assert others <= planned
    assert {"release_data_set", "regressions", "paper_variables", "identifier_scan"} <= planned
    # its chapter or its marked passages leave the paper, which is still rendered
    assert "render_paper" in planned and "The paper is not rendered" not in out


def test_a_paper_quoting_a_strand_off_unmarked_is_not_rendered_and_says_where(
    dry_workdir, tmp_path
):
    paper = tmp_path / "paper"
    shutil.copytree(ROOT / "paper", paper)
    with (paper / "_conclusion.qmd").open("a", encoding="utf-8") as conclusion:
        conclusion.write("\nThe mean was {{< var air.severity.mean_pm25 >}} µg/m³.\n")
    off = _override(
        tmp_path,
        "off.yaml",
        {"strands": {"air_quality": False}, "paper": {"source_dir": str(paper)}},
    )
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", off)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    planned = _planned_rules(run.stdout)
    assert "render_paper" not in planned and "paper_variables" in planned
    assert "strand 'air_quality' is switched off" in out
    assert "paper/_conclusion.qmd, Limitations: line 54" in out
    # asked for, the paper is refused with the same lines
    run = run_snakemake(
        dry_workdir, "results/paper/_output/index.html", "--dry-run", "--configfile", off
    )
    assert run.returncode != 0
    assert "paper/_conclusion.qmd, Limitations: line 54" in run.stdout + run.stderr


def test_a_strand_off_needs_none_of_its_inputs(dry_workdir, tmp_path):
    off = _override(
        tmp_path,
        "off.yaml",
        {
            "strands": {"air_quality": False, "policy": False},
            "air_quality": {"official": "nowhere/official.csv"},
            "policies": {"register": "nowhere/register.csv"},
        },
    )
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", off)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "nowhere" not in run.stdout


def test_a_population_model_of_another_questionnaire_stops_the_run_before_any_job(
    dry_workdir, tmp_path
):
    from tests.support.paths import POPULATION

    model = yaml.safe_load(POPULATION.read_text(encoding="utf-8"))
    model["loadings"]["LEAD5"] = 0.5
    del model["group_sizes"]["fengtai_epb"]
    path = tmp_path / "population_model.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    simulation = yaml.safe_load((dry_workdir / "config/simulation.yaml").read_text("utf-8"))
    simulation["simulation"]["population_model"] = str(path)
    override = _override(tmp_path, "simulation.yaml", simulation)
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", override)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"{path}, column 'loadings': names items ['LEAD5'] that the codebook" in out
    assert f"{path}, column 'group_sizes': lacks the codebook's respondent groups" in out
    assert "fengtai_epb" in out
    assert _planned_rules(run.stdout) == set()
    # switched off, the simulation does not read the model at all
    off = _override(tmp_path, "off.yaml", {"strands": {"simulation": False}})
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", override, off)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]


def test_the_release_files_are_named_by_the_config(dry_workdir, tmp_path):
    named = _override(tmp_path, "release.yaml", {"release": {"basename": "other_survey"}})
    run = run_snakemake(dry_workdir, "--dry-run", "--configfile", named)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "results/release/other_survey.sav" in run.stdout
    assert "results/release/other_survey.csv" in run.stdout
    assert "haze_governance_survey_release" not in run.stdout


def test_the_reproducibility_appendix_draws_only_the_strands_switched_on(dry_workdir):
    from hazegov.paper.reproducibility import rule_graph, rule_graph_dot

    snakefile = ROOT / "Snakefile"
    every = rule_graph(rule_graph_dot(snakefile, dry_workdir))
    assert set().union(*STRAND_RULES.values()) <= set(every.nodes)
    off = {"strands": {"multiverse": False, "simulation": False}}
    fewer = rule_graph(rule_graph_dot(snakefile, dry_workdir, off))
    assert not set(fewer.nodes) & (STRAND_RULES["multiverse"] | STRAND_RULES["simulation"])
    assert "render_paper" in fewer.nodes and "air_quality_analysis" in fewer.nodes
