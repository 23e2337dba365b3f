"""Interrupted builds, targeted reruns and determinism of the whole DAG on the `.test` config.

The working directories here are self-contained copies (the `.test` config with the codebook,
policy documents and air file beside it), so editing an input never touches the checkout and a
built directory can be moved. Snakemake runs without PYTHONHASHSEED or any other help: what is
checked is what a user gets from `snakemake --cores 4`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.workflow import (
    SNAKEMAKE,
    planned_rules,
    portable_workdir,
    result_hashes,
)

pytestmark = pytest.mark.e2e
# A long job in the middle of the DAG: once it runs, earlier jobs are done and later ones are not.
KILL_WHEN_RUNNING = "logs/path_model.log"


def snakemake(workdir: Path, *args: str, on_day: str | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake; `on_day` moves the clock of every Python process of the build to that day.

    The clock is moved with time-machine through a sitecustomize module on PYTHONPATH, which
    Snakemake and every job script inherit. (libfaketime cannot be used: it makes Python 3.11's
    timed waits hang or fail.) The two external programs of the build, pandoc and typst, are
    given fixed dates by the renderer, so they never read the clock.
    """
    command = [*SNAKEMAKE, "--directory", str(workdir), *args]
    env = dict(os.environ)
    if on_day:
        shim = workdir.parent / "clock_shim"
        shim.mkdir(exist_ok=True)
        (shim / "sitecustomize.py").write_text(
            f"import time_machine\ntime_machine.travel({on_day!r}, tick=True).start()\n",
            encoding="utf-8",
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def planned_jobs(workdir: Path, *args: str) -> set[str]:
    """The rules a dry run would execute."""
    run = snakemake(workdir, "--dry-run", *args)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout + run.stderr
    return set() if "Nothing to be done" in out else planned_rules(out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted build, the yardstick of the other builds."""
    workdir = portable_workdir(tmp_path_factory.mktemp("reference"))
    run = snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


@pytest.fixture
def built_copy(reference, tmp_path) -> Path:
    """A copy of the reference build, mtimes kept, to edit inputs in."""
    copy = tmp_path / "copy"
    shutil.copytree(reference.parent, copy, symlinks=True)
    return copy / ".test"


def test_a_built_directory_moved_elsewhere_is_up_to_date(built_copy):
    assert planned_jobs(built_copy) == set()


# What each edit must rerun: the rules downstream of the edited input, and no other.
SURVEY_ANALYSES = {
    "analysis_sample",
    "cfa",
    "common_method_variance",
    "explore_measurement_model",
    "tidy_notebook_log",  # the executed notebook, kept with relative paths
    "factor_structure",
    "group_comparisons",
    "measurement_invariance",
    "path_model",
    "regressions",
    "reliability",
}
SURVEY_FROM_CLEANING = {
    "clean_responses",
    "participant_flow_figure",
    "release_data_set",
    "sample_by_group",
    *SURVEY_ANALYSES,
}
MULTIVERSE = {"multiverse_group", "multiverse_summary"}
SIMULATION = {"simulation_truth", "simulation_replications", "simulation_summary"}
# a changed paper is scanned for identifiers and small counts again before the build is done
PRIVACY_GATES = {"identifier_scan", "disclosure_check", "all"}
PAPER = {"paper_variables", "render_paper", *PRIVACY_GATES}


def _edit_text(path: Path, old: str, new: str) -> None:
    encoding = "utf-8-sig" if path.suffix == ".csv" else "utf-8"
    text = path.read_text(encoding=encoding)
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def _edit_config(path: Path, keys: tuple[str, ...], value: object) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = config
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    # key order kept: a reordered mapping is a changed parameter to Snakemake
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_editing_the_export_reruns_the_survey_strand_only(built_copy):
    export = built_copy / "data/raw/haze_governance_survey.csv"
    (built_copy / "data/raw/haze_governance_survey.csv.synthetic.json").unlink()
    _edit_text(export, "非常同意", "同意")
    expected = {
        "ingest_export",
        "free_text_counts",
        "reproducibility_appendix",
        *SURVEY_FROM_CLEANING,
        *MULTIVERSE,
        *PAPER,
    }
    assert planned_jobs(built_copy) == expected


def test_editing_the_codebook_reruns_what_reads_it(built_copy):
    codebook = built_copy.parent / "config/codebook.yaml"
    _edit_text(codebook, "en: Male", "en: Man")
    expected = {
        "ingest_export",
        "free_text_counts",
        "questionnaire_appendix",
        "reproducibility_appendix",
        *SURVEY_FROM_CLEANING,
        *MULTIVERSE,
        *SIMULATION,
        *PAPER,
    }
    assert planned_jobs(built_copy) == expected


def test_editing_a_policy_text_reruns_the_policy_strand_only(built_copy):
    digests = sorted((built_copy.parent / "data/raw/policies/digests").glob("*.md"))
    with digests[0].open("a", encoding="utf-8") as handle:
        handle.write("\n")
    expected = {"policy_corpus", "policy_text_analysis", "reproducibility_appendix", *PAPER}
    assert planned_jobs(built_copy) == expected


@pytest.mark.parametrize(
    ("config_file", "keys", "value", "expected"),
    [
        ("config.yaml", ("analysis", "group_comparisons", "n_boot"), 300, {"group_comparisons"}),
        (
            "config.yaml",
            ("exclusions", "min_duration", "seconds"),
            60,
            # the population targets analyse clean respondents: no exclusion rule applies
            SURVEY_FROM_CLEANING | (SIMULATION - {"simulation_truth"}),
        ),
        (
            "config.yaml",
            ("analysis", "regression", "controls"),
            ["sector", "gender"],
            # the same respondents (analysis.missing_data.required), the same multiverse grid
            {"regressions", "multiverse_summary", *SIMULATION},
        ),
        ("air_quality.yaml", ("air_quality", "thresholds", "heavy"), 200, {"air_quality_analysis"}),
        ("config.yaml", ("paper", "formats"), ["html"], {"render_paper", *PRIVACY_GATES}),
    ],
    ids=[
        "bootstrap-size",
        "exclusion-threshold",
        "regression-controls",
        "air-threshold",
        "paper-formats",
    ],
)
def test_a_config_value_reruns_exactly_its_dependants(
    built_copy, config_file, keys, value, expected
):
    _edit_config(built_copy / "config" / config_file, keys, value)
    paper = PAPER if keys[0] != "paper" else set()
    assert planned_jobs(built_copy) == expected | paper


def test_a_killed_build_resumes_to_the_outputs_of_an_uninterrupted_one(reference, tmp_path):
    workdir = portable_workdir(tmp_path / "killed")
    build = subprocess.Popen(
        [*SNAKEMAKE, "--directory", str(workdir), "--cores", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not (workdir / KILL_WHEN_RUNNING).exists():
        assert build.poll() is None, "the build ended before it could be interrupted"
        assert time.monotonic() < deadline, "the build never reached the job to interrupt"
        time.sleep(0.05)
    time.sleep(1.0)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()

    expected = result_hashes(reference)
    interrupted = result_hashes(workdir)
    truncated = [
        name
        for name, digest in interrupted.items()
        if not name.endswith(".part") and expected.get(name) != digest
    ]
    assert truncated == [], f"outputs of the killed build differ from a clean build: {truncated}"

    resumed = snakemake(workdir, "--cores", "2")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert result_hashes(workdir) == expected


def test_a_build_on_another_day_in_another_directory_is_byte_identical(reference, tmp_path):
    workdir = portable_workdir(tmp_path / "another" / "place")
    run = snakemake(workdir, "--cores", "2", on_day="2031-06-15 09:30:00+08:00")
    assert run.returncode == 0, run.stderr[-4000:]
    # the build really ran on that day: Snakemake names its log after the date
    assert {p.name[:10] for p in (workdir / ".snakemake/log").glob("*.log")} == {"2031-06-15"}
    first, second = result_hashes(reference), result_hashes(workdir)
    assert first.keys() == second.keys()
    assert sorted(k for k in first if first[k] != second[k]) == []
    assert any(k.endswith(".png") for k in first) and "paper/_variables.yml" in first
