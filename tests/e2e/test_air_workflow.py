"""End to end with several stations: the `.test` build on simulated multi-site station files.

Three stations of the UCI multi-site layout, made here by `hazegov.air.simulate` (the real files
are not in the repository), replace the US Embassy file; the city-wide series is the primary
one. The paper must pass every paper check, Snakemake's report must carry every figure and
caption without a docutils system message, a wrong `primary` must stop the run at start-up, and
the review example of docs/paper.md must run as written.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hazegov.air.simulate import StationModel, simulate_station_file, write_station_file
from tests.support.paths import ROOT
from tests.support.workflow import SNAKEMAKE, make_workdir, run_snakemake

pytestmark = pytest.mark.e2e
STATIONS = ("Aotizhongxin", "Dingling", "Dongsi")
REPORT_FIGURES = (
    "pm25_calendar.png",
    "pm25_monthly_its.png",
    "pm25_official_annual.png",
    "pm25_stations.png",
    "participant_flow.png",
    "rule_graph.png",
)


def _write_stations(workdir: Path) -> list[dict]:
    entries = []
    for k, name in enumerate(STATIONS):
        frame = simulate_station_file(
            StationModel(name, trend_pct_per_year=-6.0 - k), "2013-03-01", "2015-12-31", 30 + k
        )
        path = workdir / "data" / "raw" / "air" / f"PRSA_Data_{name}_sim.csv"
        entries.append(
            {
                "file": str(path.relative_to(workdir)),
                "sha256": write_station_file(frame, path),
                "attribution": f"Simulated station {name} (hazegov.air.simulate).",
            }
        )
    return entries


@pytest.fixture(scope="module")
def multi_build(tmp_path_factory) -> Path:
    workdir = make_workdir(tmp_path_factory.mktemp("air_multi"))
    config_path = workdir / "config" / "air_quality.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["air_quality"]["stations"] = _write_stations(workdir)
    config["air_quality"]["primary"] = "city-wide"
    config["air_quality"]["its"]["coverage_simulations"] = 20
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    run = run_snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_multi_station_paper_passes_every_paper_check(multi_build):
    from hazegov.paper.checks import check_paper, format_problems

    paper = multi_build / "results" / "paper"
    problems = check_paper(paper, ROOT / "paper", pdf=paper / "_output" / "index.pdf")
    assert problems == [], "\n" + format_problems(problems)
    html = (paper / "_output" / "index.html").read_text(encoding="utf-8")
    for name in STATIONS:
        assert name in html
    assert "US Embassy" not in html
    assert "in the city-wide mean of three monitoring stations" in html
    variables = yaml.safe_load((paper / "_variables.yml").read_text(encoding="utf-8"))["air"]
    assert variables["its"]["monthly"]["design"].startswith("one trend throughout")
    assert "2013‡" in (paper / "tables" / "air_annual.md").read_text(encoding="utf-8")


def test_report_has_every_figure_and_caption_and_no_system_message(multi_build, tmp_path):
    report = tmp_path / "elsewhere" / "report.html"
    report.parent.mkdir()
    run = run_snakemake(multi_build, "--report", str(report))
    assert run.returncode == 0, run.stderr[-4000:]
    assert report.is_file() and not (multi_build / "elsewhere").exists()
    text = report.read_text(encoding="utf-8", errors="replace")
    assert "System Message" not in text and "Duplicate explicit target" not in text
    for figure in REPORT_FIGURES:
        assert figure in text, figure
    for caption in sorted((ROOT / "workflow" / "report").glob("*.rst")):
        first = re.sub(r"\{\{.*?\}\}|``", "", caption.read_text(encoding="utf-8"))
        words = " ".join(first.split()[:4])
        assert words in text, caption.name
    assert "one panel per series" in text and "city-wide" in text


def test_wrong_primary_stops_the_run_at_start_up_once(tmp_path):
    workdir = make_workdir(tmp_path / "wrong")
    bad = tmp_path / "bad.yaml"
    bad.write_text("air_quality:\n  primary: Nowhere\n", encoding="utf-8")
    run = run_snakemake(
        workdir, "results/interim/air/hourly.parquet", "--cores", "1", "--configfile", str(bad)
    )
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert out.count("[rule: primary-series]") == 1, out[-3000:]
    assert "choose one of ['US Embassy']" in out
    assert not (workdir / "results").exists()  # nothing ran


def _docs_block(page: str, heading: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_docs_review_example_runs_as_written(multi_build):
    """Each command of the paper-diff example in docs/paper.md, with `snakemake` pointed at the
    build directory and `hazegov` at this interpreter; `printf` runs in a shell."""
    commands = _docs_block("paper.md", "Reviewing a change: the paper diff")
    assert any("--configfile" in c for c in commands)
    for command in commands:
        args = shlex.split(command)
        if args[0] in ("snakemake", "hazegov"):
            program = SNAKEMAKE if args[0] == "snakemake" else [sys.executable, "-m", "hazegov.cli"]
            run = subprocess.run(
                [*program, *args[1:]],
                cwd=multi_build,  # relative paths in the commands, as a user typing them
                capture_output=True,
                text=True,
                check=False,
            )
        else:
            run = subprocess.run(
                command, shell=True, cwd=multi_build, capture_output=True, text=True, check=False
            )
        assert run.returncode == 0, f"{command}\n{(run.stdout + run.stderr)[-3000:]}"
    assert (multi_build / "results" / "paper_diff" / "report.html").stat().st_size > 0
