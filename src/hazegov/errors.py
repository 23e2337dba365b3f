"""Errors that name where bad input is and which rule it breaks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class HazegovError(Exception):
    """Base class: every error the pipeline raises on purpose."""


class AnalysisError(HazegovError):
    """The data cannot support the requested analysis (and a number would mislead)."""


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in one input file."""

    file: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    # "row" of a table; "line" of a text file such as a YAML config
    row_kind: str = "row"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"{self.row_kind} {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        value = "" if self.value is None else f" value {self.value!r}:"
        return f"{', '.join(where)}:{value} {self.message} [rule: {self.rule}]"


class InputError(HazegovError):
    """Input that breaks the codebook, the config or a file format; lists every violation."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        self.violations = violations
        shown = "\n".join(f"  - {v}" for v in violations[:limit])
        more = len(violations) - limit
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(violations)} problem(s) in the input:\n{shown}{tail}")

    @classmethod
    def single(cls, file: str | Path, rule: str, message: str, **where: object) -> InputError:
        return cls([Violation(file=str(file), rule=rule, message=message, **where)])  # type: ignore[arg-type]


class CodebookError(InputError):
    """The codebook contradicts itself."""


class ExportError(InputError):
    """The questionnaire export breaks the codebook."""


class ConfigError(InputError):
    """A config value is of the wrong type or out of range."""
