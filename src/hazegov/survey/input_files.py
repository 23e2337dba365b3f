"""Whether a raw input's path names a file the pipeline may read: checked before any byte is.

A path can be hostile before its content is: a directory (`IsADirectoryError` deep in a
reader), a named pipe or a device (reading blocks forever or never ends), or a symbolic link
inside the project that leads out of it, whose target's first line an error message would
then quote (a key, a password file). These are refused up front, by the path alone, so the
message never shows a byte of what the path leads to.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hazegov.errors import Violation

# The most characters a cell of an export may hold: Excel's own limit on a cell, so no export
# the platform or Excel writes has a longer one, while a damaged or hostile file can (one cell
# of 50 MB once ended in a traceback from the csv module).
MAX_CELL_CHARS = 32_767

FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def input_path_problem(path: str | Path, what: str) -> tuple[str, str] | None:
    """The rule a raw input's path breaks and why, or None when the file may be read.

    The project is the working directory, where Snakemake runs every rule. A path inside it
    must stay inside it when its symbolic links are followed (rule `inside-project`): raw data
    that lives elsewhere is named by its own path, so that leaving the project is a visible
    choice in the config, not a link planted in data/raw/. A path given outside the project is
    read where it is. The path must then name an existing (rule `file-exists`) regular file
    (rule `regular-file`).

    Parameters
    ----------
    path
        The input's path as configured.
    what
        What the input is, for the message ("the export file", "the codebook file").

    Returns
    -------
    tuple of str or None
        (rule, message), or None.
    """
    path = Path(path)
    outside = _leaves_project(path)
    if outside is not None:
        return (
            "inside-project",
            f"{what} is inside the project directory {Path.cwd()} but a symbolic link takes "
            f"it to {outside}, outside the project; refused without reading it. Copy the file "
            "into the project, or name its real path in the config",
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "file-exists", f"{what} does not exist"
    except OSError as exc:
        return "file-exists", f"{what} cannot be opened ({exc.strerror})"
    if not stat.S_ISREG(mode):
        kind = FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
        return (
            "regular-file",
            f"{what} is {kind}, not a regular file; name the file itself",
        )
    return None


def _leaves_project(path: Path) -> Path | None:
    """Where a path inside the project leads when it leads outside it; else None."""
    project = Path.cwd()
    lexical = Path(os.path.abspath(path))
    real_project = Path(os.path.realpath(project))
    if not (lexical.is_relative_to(project) or lexical.is_relative_to(real_project)):
        return None
    # realpath, unlike Path.resolve, does not raise on a loop of links
    real = Path(os.path.realpath(lexical))
    return None if real.is_relative_to(real_project) else real


def oversized_cell(file: str, row: int, column: str, length: int | None) -> Violation:
    """The violation of a cell longer than MAX_CELL_CHARS (`length` None: not measured)."""
    size = "more characters" if length is None else f"{length:,} characters"
    return Violation(
        file,
        "cell-size",
        f"this cell holds {size}, more than the limit of {MAX_CELL_CHARS:,} "
        "(MAX_CELL_CHARS in hazegov.survey.input_files, Excel's own limit on a cell): no answer is "
        "that long, so the file is damaged, or quotes are unbalanced and run many cells together",
        row=row,
        column=column,
    )
