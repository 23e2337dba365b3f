"""A killed build's lock is removed on the next run only when its owner is certainly gone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace

import pytest

from hazegov.build_lock import (
    LOCK_DIR,
    OWNER_FILE,
    BuildOwner,
    current_owner,
    release_stale_lock,
)

pytestmark = pytest.mark.skipif(current_owner() is None, reason="needs Linux /proc")


def locked_by(workdir, owner: BuildOwner) -> None:
    (workdir / LOCK_DIR).mkdir(parents=True)
    (workdir / LOCK_DIR / "0.output.lock").write_text("results/analysis/cfa.json\n")
    (workdir / OWNER_FILE).write_text(json.dumps(asdict(owner)))


def recorded(workdir) -> BuildOwner:
    return BuildOwner(**json.loads((workdir / OWNER_FILE).read_text()))


def test_a_first_run_takes_ownership_and_leaves_the_directory_alone(tmp_path):
    assert release_stale_lock(tmp_path) is None
    assert recorded(tmp_path) == current_owner()
    assert not (tmp_path / LOCK_DIR).exists()


def test_the_lock_of_a_killed_build_is_removed(tmp_path):
    build = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = current_owner(build.pid)
    build.kill()
    build.wait()
    locked_by(tmp_path, owner)
    message = release_stale_lock(tmp_path)
    assert message is not None and str(build.pid) in message and "no longer running" in message
    assert not (tmp_path / LOCK_DIR).exists()
    assert recorded(tmp_path) == current_owner()


def test_the_lock_of_a_running_build_stays(tmp_path):
    build = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = current_owner(build.pid)
        locked_by(tmp_path, owner)
        assert release_stale_lock(tmp_path) is None
        assert (tmp_path / LOCK_DIR / "0.output.lock").exists()
        assert recorded(tmp_path) == owner
    finally:
        build.kill()
        build.wait()


def test_a_reused_pid_does_not_pass_for_the_old_build(tmp_path):
    """The pid lives, but it is another process (it started at another time)."""
    me = current_owner()
    build = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        impostor = replace(current_owner(build.pid), start_ticks=me.start_ticks - 1)
        locked_by(tmp_path, impostor)
        assert release_stale_lock(tmp_path) is not None
        assert not (tmp_path / LOCK_DIR).exists()
    finally:
        build.kill()
        build.wait()


def test_a_build_from_before_a_reboot_is_gone(tmp_path):
    locked_by(tmp_path, replace(current_owner(), boot_id="00000000-0000-0000-0000-000000000000"))
    assert release_stale_lock(tmp_path) is not None
    assert not (tmp_path / LOCK_DIR).exists()


def test_a_build_on_another_host_keeps_its_lock(tmp_path):
    """On a shared file system another machine's process cannot be checked from here."""
    other = replace(current_owner(), host="another-node", pid=1)
    locked_by(tmp_path, other)
    assert release_stale_lock(tmp_path) is None
    assert (tmp_path / LOCK_DIR).exists()
    assert recorded(tmp_path) == other


def test_a_lock_without_an_owner_record_stays(tmp_path):
    (tmp_path / LOCK_DIR).mkdir(parents=True)
    (tmp_path / LOCK_DIR / "0.input.lock").write_text("data/raw/haze_governance_survey.csv\n")
    assert release_stale_lock(tmp_path) is None
    assert (tmp_path / LOCK_DIR / "0.input.lock").exists()
