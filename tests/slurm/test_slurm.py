"""The `slurm` profile on a real SLURM: same targets locally and through sbatch, same bytes.

The cluster tests need a working SLURM (`sinfo` answers and shows a usable node). On one
machine, `bash tests/slurm/start_local_slurm.sh` starts a one-node cluster on localhost (as
root). Without a cluster they skip, unless HAZEGOV_SLURM_TESTS=1 says they must run (then they
fail instead). `.ci/run` starts the local cluster, so CI runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.slurm import (
    SLURM_PROFILE,
    STUDY_TARGETS,
    SUBMITTED,
    SURVEY_TARGETS,
    slurm_targets,
    slurm_usable,
    workflow_rules,
)
from tests.support.workflow import SNAKEMAKE, planned_rules, portable_workdir, result_hashes

RUN_TIMEOUT = 1800  # seconds for one build of the target set
STEPS = re.compile(r"(\d+) of (\d+) steps")


FORCED = os.environ.get("HAZEGOV_SLURM_TESTS") == "1"
USABLE = FORCED or slurm_usable()
# The targets both runs build (left empty where the cluster tests skip anyway, so that
# collecting this module starts no Snakemake on a machine without SLURM).
TARGETS: list[str] = slurm_targets() if USABLE else []

pytestmark = pytest.mark.slurm
needs_slurm = pytest.mark.skipif(
    not USABLE, reason="no usable SLURM (start one: bash tests/slurm/start_local_slurm.sh)"
)


def run_snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # One hash seed for both runs (the executor exports the environment to the SLURM jobs).
    # No PYTHONHASHSEED: the outputs must not depend on it (hazegov.analysis.cfa.OrderedModel).
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def steps(output: str) -> int:
    """Jobs Snakemake ran, from its last "N of M steps" line."""
    found = STEPS.findall(output)
    assert found, output[-3000:]
    done, total = map(int, found[-1])
    assert done == total, output[-3000:]
    return total


def test_the_slurm_profile_sizes_every_rule():
    """Threads, memory and runtime are set for each rule, and no rule that does not exist."""
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text(encoding="utf-8"))
    assert profile["executor"] == "slurm"
    assert profile["rerun-incomplete"] is True
    assert {"mem_mb", "runtime", "slurm_partition"} <= profile["default-resources"].keys()
    rules = workflow_rules() - {"all"}
    assert set(profile["set-threads"]) == rules
    assert set(profile["set-resources"]) == rules
    for rule, resources in profile["set-resources"].items():
        assert {"mem_mb", "runtime"} <= resources.keys(), rule
    assert set(profile.get("groups", {})) <= rules


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """The target set built once locally and once through SLURM, each in a fresh copy."""
    if FORCED:
        assert slurm_usable(), "HAZEGOV_SLURM_TESTS=1 but no usable SLURM node"
    local = portable_workdir(tmp_path_factory.mktemp("local"))
    run = run_snakemake(local, *TARGETS, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    local_out = run.stdout + run.stderr

    cluster = portable_workdir(tmp_path_factory.mktemp("slurm"))
    run = run_snakemake(
        cluster,
        *TARGETS,
        "--workflow-profile",
        "none",
        "--profile",
        str(SLURM_PROFILE),
        # Kept for the test to find: the plugin deletes logs of successful jobs by default.
        "--slurm-keep-successful-logs",
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-4000:]
    return {"local": (local, local_out), "slurm": (cluster, run.stdout + run.stderr)}


@pytest.mark.e2e
@needs_slurm
def test_every_job_of_the_slurm_run_went_through_sbatch(builds):
    workdir, output = builds["slurm"]
    job_ids = SUBMITTED.findall(output)
    assert job_ids and steps(output) >= len(job_ids)
    # No job ran on the submit host ("localrule X:" is how Snakemake announces those).
    assert "localrule " not in output
    # The executor's logs, named by SLURM job id, in one folder per rule or per group job
    # (group_<group>_<rules>): every rule of the run is among them.
    slurm_logs = workdir / ".snakemake" / "slurm_logs"
    assert set(job_ids) <= {p.stem for p in slurm_logs.rglob("*.log")}
    folders = [p.name for p in slurm_logs.iterdir()]
    for rule in planned_rules(output):
        assert f"rule_{rule}" in folders or any(
            f.startswith("group_") and rule in f for f in folders
        ), rule
    # And slurmctld lists them as finished jobs (MinJobAge keeps them for a while).
    queue = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T", "--jobs", ",".join(job_ids)],
        capture_output=True,
        text=True,
        check=False,
    )
    if queue.returncode == 0 and queue.stdout.strip():
        states = dict(line.split("|", 1) for line in queue.stdout.split())
        assert all(states.get(j, "COMPLETED") == "COMPLETED" for j in job_ids), states


@pytest.mark.e2e
@needs_slurm
def test_the_local_run_used_no_slurm_and_the_same_jobs(builds):
    local_output, slurm_output = builds["local"][1], builds["slurm"][1]
    assert not SUBMITTED.search(local_output)
    assert steps(local_output) == steps(slurm_output)
    assert planned_rules(local_output) == planned_rules(slurm_output)


@pytest.mark.e2e
@needs_slurm
def test_slurm_and_local_outputs_are_byte_identical(builds):
    local, cluster = result_hashes(builds["local"][0]), result_hashes(builds["slurm"][0])
    assert local, "the local run wrote no results"
    assert local.keys() == cluster.keys()
    differing = sorted(k for k in local if local[k] != cluster[k])
    assert differing == []


@pytest.mark.e2e
@needs_slurm
def test_the_target_set_covers_the_studies_that_exist(builds):
    rules = workflow_rules()
    for target in STUDY_TARGETS:
        assert (target in TARGETS) == (target in rules)
    assert set(SURVEY_TARGETS) <= set(TARGETS)
