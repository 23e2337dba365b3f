"""What may be published of the quarantined free text: how many respondents answered.

Ingest writes the free text (suggestions, the fill-ins of "other" options, the channel column)
to one restricted file; this module is its only reader. It publishes, per free-text column, the
number of submissions that hold an answer, with the study's small-cell rule: a count below
`privacy.min_cell_count` is suppressed, and so is a count whose complement (the submissions
that left the column empty, the difference from the published number of submissions) is small,
since a reader could otherwise recover that small count by subtraction. Nothing of the text
itself (words, categories, channel names) is published: a category shared by enough respondents
can still name the person who distributed the link.
"""

from __future__ import annotations

import pandas as pd

from hazegov.privacy.disclosure import suppress
from hazegov.survey.codebook import Codebook
from hazegov.survey.ingest import quarantined_columns

__all__ = ["answered_counts"]


def answered_counts(free_text: pd.DataFrame, cb: Codebook, min_count: int) -> pd.DataFrame:
    """Submissions with an answer in each free-text column, small counts suppressed.

    Parameters
    ----------
    free_text : DataFrame
        The quarantine file's contents (`IngestResult.free_text`).
    cb : Codebook
        Names the free-text columns and gives their English labels.
    min_count : int
        The smallest count that may be shown (config ``privacy.min_cell_count``).

    Returns
    -------
    DataFrame
        One row per free-text column: ``variable``, ``label`` (English) and ``n`` (an int,
        ``"<m"`` or ``"x"``). The column ``n`` is a respondent count, so the disclosure checker
        reads it too.
    """
    rows = []
    for name in quarantined_columns(cb):
        if name not in free_text.columns:
            continue
        answered = int(free_text[name].notna().sum())
        # answered + unanswered = the published number of submissions: one margin
        shown = suppress([answered, len(free_text) - answered], min_count, margins=[[0, 1]])
        rows.append(
            {"variable": name, "label": cb.variable(name).text_en, "n": shown.display_values()[0]}
        )
    return pd.DataFrame(rows, columns=["variable", "label", "n"])
