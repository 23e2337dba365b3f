"""Running the workflow on copies of `.test`: the working directories and Snakemake itself."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.paths import CODEBOOK, ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


def make_workdir(base: Path) -> Path:
    """A copy of `.test` that reads this checkout's codebook.

    The checkout's input files are copied into `checkout/` and named by paths relative to the
    working directory: outputs name raw inputs as configured, the identifier scan stops a build
    whose outputs hold an absolute path, the ingest refuses a link that leaves the project, and
    two copies must build the same bytes.
    """
    shutil.copytree(ROOT / ".test" / "config", base / "config")
    shutil.copytree(ROOT / ".test" / "data", base / "data")
    copied = shutil.ignore_patterns("results", "logs", ".snakemake", "__pycache__")
    shutil.copytree(ROOT / "config", base / "checkout" / "config", ignore=copied)
    shutil.copytree(ROOT / ".test", base / "checkout" / ".test", ignore=copied)
    for raw in ("policies", "air"):  # what `.test`'s config reaches back to
        shutil.copytree(ROOT / "data" / "raw" / raw, base / "checkout" / "data" / "raw" / raw)

    def relative(path: Path) -> str:
        return str(Path("checkout") / path.resolve().relative_to(ROOT.resolve()))

    config_path = base / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["survey"]["codebook"] = relative(CODEBOOK)
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    air_path = base / "config" / "air_quality.yaml"
    air = yaml.safe_load(air_path.read_text(encoding="utf-8"))
    for station in air["air_quality"]["stations"]:
        station["file"] = relative(ROOT / ".test" / station["file"])
    official = ROOT / ".test" / air["air_quality"]["official"]
    air["air_quality"]["official"] = relative(official)
    air_path.write_text(yaml.safe_dump(air, allow_unicode=True), encoding="utf-8")
    policies_path = base / "config" / "policies.yaml"
    policies = yaml.safe_load(policies_path.read_text(encoding="utf-8"))
    for key in ("register", "departments", "instruments"):
        policies["policies"][key] = relative(ROOT / ".test" / policies["policies"][key])
    policies_path.write_text(yaml.safe_dump(policies, allow_unicode=True), encoding="utf-8")
    return base


def run_snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def portable_workdir(base: Path) -> Path:
    """`.test` with its `../config` and `../data` inputs copied beside it; returns the workdir."""
    shutil.copytree(ROOT / ".test" / "config", base / ".test" / "config")
    shutil.copytree(ROOT / ".test" / "data", base / ".test" / "data")
    shutil.copytree(ROOT / "config", base / "config")
    for raw in ("policies", "air"):
        shutil.copytree(ROOT / "data" / "raw" / raw, base / "data" / "raw" / raw)
    return base / ".test"


def result_hashes(workdir: Path) -> dict[str, str]:
    results = workdir / "results"
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


def planned_rules(output: str) -> set[str]:
    """The rules in Snakemake's "Job stats" table."""
    table = output.split("Job stats:", 1)[1].splitlines()
    rules = set()
    for line in table[3:]:
        parts = line.split()
        if not parts or parts[0] == "total":
            break
        rules.add(parts[0])
    return rules
