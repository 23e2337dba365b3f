"""Release the lock a killed build leaves behind, so that rerunning the build finishes it.

Snakemake locks a working directory with files under `.snakemake/locks/` that hold file lists
but no process id. A build ended by SIGKILL, an out-of-memory kill or a power loss cannot
remove them, and the next run stops until someone runs `snakemake --unlock`. The workflow
therefore records which process owns the build (host, boot, pid and the process's start time)
and, when it starts again, removes the locks only if that process is gone for certain: same
host, and either another boot or no process with that pid and start time. When in doubt (another
host on a shared file system, no /proc) the locks stay and Snakemake refuses as it always has.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

LOCK_DIR = Path(".snakemake/locks")
OWNER_FILE = Path(".snakemake/hazegov_build_owner.json")
_PROC = Path("/proc")


@dataclass(frozen=True)
class BuildOwner:
    host: str
    boot_id: str
    pid: int
    start_ticks: int


def _boot_id() -> str | None:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks after boot."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself hold spaces or parentheses
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def current_owner(pid: int | None = None) -> BuildOwner | None:
    pid = os.getpid() if pid is None else pid
    boot, ticks = _boot_id(), _start_ticks(pid)
    if boot is None or ticks is None:
        return None
    return BuildOwner(socket.gethostname(), boot, pid, ticks)


def _recorded_owner(workdir: Path) -> BuildOwner | None:
    try:
        return BuildOwner(**json.loads((workdir / OWNER_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def owner_is_gone(owner: BuildOwner) -> bool:
    """True only when the recorded build process cannot still be running."""
    if owner.host != socket.gethostname():
        return False
    boot = _boot_id()
    if boot is None:
        return False
    if owner.boot_id != boot:
        return True
    return _start_ticks(owner.pid) != owner.start_ticks


def release_stale_lock(workdir: str | Path = ".") -> str | None:
    """Remove the locks of a build that is certainly gone and take ownership of the directory.

    Returns a message for the log when a stale lock was removed. Call it from the main
    Snakemake process only: jobs (on a cluster, on other hosts) must not touch the lock.
    """
    workdir = Path(workdir)
    me = current_owner()
    if me is None:
        return None
    recorded = _recorded_owner(workdir)
    message = None
    if recorded is not None and recorded != me:
        if not owner_is_gone(recorded):
            return None  # a live build (or one we cannot judge) keeps its lock and ownership
        if (workdir / LOCK_DIR).exists():
            shutil.rmtree(workdir / LOCK_DIR)
            message = (
                f"removed the lock left by build process {recorded.pid} on {recorded.host}, "
                "which is no longer running (killed or interrupted); the build resumes"
            )
    owner_file = workdir / OWNER_FILE
    owner_file.parent.mkdir(parents=True, exist_ok=True)
    part = owner_file.with_name(f".{owner_file.name}.{me.pid}.part")
    part.write_text(json.dumps(asdict(me)), encoding="utf-8")
    os.replace(part, owner_file)
    return message
