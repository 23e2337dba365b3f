"""The SLURM cluster the tests and the cluster benchmark use: is there one, what to build on it."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache

from tests.support.paths import ROOT
from tests.support.workflow import SNAKEMAKE

SLURM_PROFILE = ROOT / "profiles" / "slurm"

# A survey analysis (regressions: export -> cleaning -> sample -> models) and the sample
# description. Rule names are valid targets: the files need not be spelt out here.
SURVEY_TARGETS = ["regressions", "sample_by_group"]
# The two studies; targeted when their rule exists in the workflow.
STUDY_TARGETS = ["multiverse_summary", "simulation_summary"]
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")


def slurm_usable() -> bool:
    """`sinfo` answers and at least one node can take jobs."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    try:
        run = subprocess.run(
            ["sinfo", "--noheader", "--format=%T"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    states = {s.strip().rstrip("*~#") for s in run.stdout.split()}
    return run.returncode == 0 and bool(states & {"idle", "mixed", "allocated", "completing"})


def workflow_rules() -> set[str]:
    """The rules of the workflow, from `snakemake --list-rules` in the checkout."""
    run = subprocess.run(
        [*SNAKEMAKE, "--directory", str(ROOT), "--workflow-profile", "none", "--list-rules"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return {line.split()[0] for line in run.stdout.splitlines() if line.strip()}


@cache
def slurm_targets() -> list[str]:
    """The target set: the survey analyses plus whichever study summaries exist."""
    rules = workflow_rules()
    return [*SURVEY_TARGETS, *(t for t in STUDY_TARGETS if t in rules)]
