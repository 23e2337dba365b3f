"""Descriptions of the sample: participant flow figure and the sample by respondent group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hazegov.io import atomic_path
from hazegov.paper.tables import made_by, markdown_table
from hazegov.privacy.disclosure import (
    DEFAULT_MIN_COUNT,
    WITHHELD,
    display_count,
    note,
    note_sentence,
    suppress,
)
from hazegov.survey.codebook import Codebook

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

SYNTHETIC_MARK = "Synthetic data drawn from the project's population model, not real responses"
PNG_METADATA = {"Software": None}


def sample_by_group(analysis: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Analysed respondents per respondent group, in codebook order, with a total row."""
    counts = analysis["resp_group"].value_counts()
    total = int(counts.sum())
    rows = []
    for opt in cb.respondent_group.options:
        n = int(counts.get(opt.id, 0))
        sector = cb.sector(opt.sector)  # type: ignore[arg-type]
        rows.append(
            {
                "resp_group": opt.id,
                "group_en": opt.en,
                "group_zh": opt.zh,
                "sector": sector.en,
                "n": n,
                "percent": round(100 * n / total, 1) if total else 0.0,
            }
        )
    rows.append(
        {
            "resp_group": "total",
            "group_en": "Total",
            "group_zh": "合计",
            "sector": "",
            "n": total,
            "percent": 100.0 if total else 0.0,
        }
    )
    frame = pd.DataFrame(rows)
    # an English-only codebook has no Chinese group names: the table has none either
    return frame if cb.bilingual else frame.drop(columns="group_zh")


def published_sample_by_group(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """`sample_by_group` as published: small counts suppressed, with complementary suppression
    against the total and against each sector's subtotal (sector sizes are published by the
    group comparisons), and the percentages of hidden counts withheld. Unchanged (same dtypes)
    when nothing needs hiding."""
    groups = table[table["resp_group"] != "total"]
    positions = list(range(len(groups)))
    margins = [positions]
    for sector in dict.fromkeys(groups["sector"]):
        margins.append([i for i, s in zip(positions, groups["sector"], strict=True) if s == sector])
    cells = suppress(groups["n"].astype(int).tolist(), min_count, margins)
    total = table[table["resp_group"] == "total"]
    total_n = [display_count(int(n), min_count) for n in total["n"]]
    if not cells.any_hidden and all(t.isdigit() for t in total_n):
        return table
    out = table.astype({"n": object, "percent": object}).copy()
    out.loc[groups.index, "n"] = cells.display_values()
    out.loc[groups.index, "percent"] = cells.withhold(groups["percent"].tolist())
    out.loc[total.index, "n"] = [int(t) if t.isdigit() else t for t in total_n]
    return out


def sample_table_markdown(
    table: pd.DataFrame, synthetic: bool, min_count: int = DEFAULT_MIN_COUNT
) -> str:
    """Pipe table with a Quarto table caption and label; counts below `min_count` suppressed
    and the suppression rule stated in the caption."""
    shown = published_sample_by_group(table, min_count)
    bilingual = "group_zh" in shown.columns  # none for an English-only codebook
    rows = []
    for row in shown.itertuples(index=False):
        name = f"**{row.group_en}**" if row.resp_group == "total" else row.group_en
        percent = row.percent if isinstance(row.percent, str) else f"{row.percent:.1f}"
        zh = [row.group_zh] if bilingual else []
        rows.append([name, *zh, row.sector, str(row.n), percent])
    lines = markdown_table(
        ["Respondent group", *(["受访单位"] if bilingual else []), "Sector", "n", "%"],
        rows,
        ["left", *(["left"] if bilingual else []), "left", "right", "right"],
    )
    mark = " Synthetic data." if synthetic else ""
    lines.append("")
    origin = made_by("tbl-sample-by-group")
    lines.append(
        f": Analysed respondents by respondent group. {note(min_count)}{mark} {origin} "
        "{#tbl-sample-by-group}"
    )
    return "\n".join(lines) + "\n"


def published_flow(flow: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """The participant flow as published.

    The submissions each exclusion step removed are counts of records rather than of a group,
    but a step that removed two submissions from one bureau singles them out just the same: a
    count below `min_count` is suppressed, and since the total excluded (received minus
    analysed) is published, complementary suppression hides another step's count too. A
    `remaining` count is withheld where it would reveal part of the hidden steps (some but not
    all of them lie at or before it). Unchanged (same dtypes) when nothing needs hiding.
    """
    ends = flow["step"].isin(["received", "analysed"])
    steps = flow[~ends]
    cells = suppress(steps["excluded"].astype(int).tolist(), min_count, [range(len(steps))])
    ends_shown = [display_count(int(n), min_count) for n in flow.loc[ends, "remaining"]]
    if not cells.any_hidden and all(t.isdigit() for t in ends_shown):
        return flow
    hidden_at = [k for k, h in enumerate(cells.hidden) if h]
    remaining: list[object] = []
    for k, value in enumerate(steps["remaining"].astype(int)):
        before = sum(1 for h in hidden_at if h <= k)
        partial = 0 < before < len(hidden_at)
        shown = display_count(value, min_count)
        remaining.append(WITHHELD if partial else int(shown) if shown.isdigit() else shown)
    out = flow.astype({"excluded": object, "remaining": object}).copy()
    out.loc[steps.index, "excluded"] = cells.display_values()
    out.loc[steps.index, "remaining"] = remaining
    out.loc[ends, "remaining"] = [int(t) if t.isdigit() else t for t in ends_shown]
    return out


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, imported when a figure is drawn: the
    survey's other jobs (ingest, exclusions, tables) do not pay its half-second import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_participant_flow(
    flow: pd.DataFrame, path: str | Path, synthetic: bool, min_count: int = DEFAULT_MIN_COUNT
) -> None:
    """CONSORT-style flow: the main column of remaining counts, exclusions to the side.

    `flow` is the published flow (`published_flow`; a numeric flow is suppressed here): the
    figure prints counts, so it prints them as the tables do and states the rule.
    """
    if pd.api.types.is_integer_dtype(flow["excluded"]):
        flow = published_flow(flow, min_count)
    steps = flow[~flow["step"].isin(["received", "analysed"])].reset_index(drop=True)
    received = flow.loc[flow["step"] == "received", "remaining"].iloc[0]
    analysed = flow.loc[flow["step"] == "analysed", "remaining"].iloc[0]
    n = len(steps)
    plt = pyplot()
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(7.5, 1.1 * (n + 2) + 0.9), dpi=150)
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.1, n + 1.6)
    ax.axis("off")

    def box(x: float, y: float, w: float, text: str, face: str) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, y - 0.32),
                w,
                0.64,
                boxstyle="round,pad=0.04",
                facecolor=face,
                edgecolor="#333333",
                linewidth=0.8,
            )
        )
        ax.text(x + w / 2, y, text, ha="center", va="center", fontsize=8.5)

    top = n + 1
    box(0.3, top, 4.2, f"Submissions received\nn = {received}", "#e8eef7")
    for i, step in enumerate(steps.itertuples(index=False)):
        y = top - (i + 1)
        ax.plot([2.4, 2.4], [y + 0.68, y + 0.32], color="#333333", linewidth=0.8)
        label = step.rule if step.applied else f"{step.rule} (rule off)"
        box(
            5.2,
            y,
            4.5,
            f"{label}\nexcluded n = {step.excluded}",
            "#f7ece8" if step.applied else "#eeeeee",
        )
        ax.annotate("", xy=(5.2, y), xytext=(2.4, y), arrowprops={"arrowstyle": "->", "lw": 0.8})
        ax.plot([2.4, 2.4], [y + 0.32, y - 0.32], color="#333333", linewidth=0.8)
    ax.annotate("", xy=(2.4, 0.32), xytext=(2.4, 0.68), arrowprops={"arrowstyle": "->", "lw": 0.8})
    box(0.3, 0, 4.2, f"Respondents analysed\nn = {analysed}", "#e6f2e6")
    ax.text(5, -0.65, note_sentence(min_count), ha="center", va="center", fontsize=7.5)
    if synthetic:
        ax.text(5, -0.95, SYNTHETIC_MARK, ha="center", va="center", fontsize=7.5, color="#b00020")
    fig.tight_layout()
    save_png(fig, path)


# The text column of the printed paper (A4 less 2.5 cm margins, paper/_quarto.yml): figures are
# drawn at the width they print at, so their font sizes are the printed sizes.
TEXT_WIDTH_IN = 16 / 2.54

# PNG text keys through which the paper checks learn a figure's size and its smallest text.
FIGURE_WIDTH_KEY = "hazegov:figure-width-in"
SMALLEST_TEXT_KEY = "hazegov:smallest-text-pt"


def smallest_text_pt(fig: plt.Figure) -> float:
    """The size of the smallest visible text in the figure, in points at the figure's own size.

    Tick labels get their text only when the figure is laid out, so it is laid out first.
    """
    from matplotlib.text import Text

    fig.draw_without_rendering()
    sizes = [
        text.get_fontsize()
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return float(min(sizes)) if sizes else 0.0


def save_png(fig: plt.Figure, path: str | Path) -> None:
    """PNG without a software tag or date, so the bytes depend only on the figure.

    The figure's width and smallest text size are written into the PNG, so that
    :mod:`hazegov.paper.checks` can tell how large the text prints at the width the paper
    gives the figure.
    """
    metadata = {
        **PNG_METADATA,
        FIGURE_WIDTH_KEY: f"{fig.get_figwidth():.4f}",
        SMALLEST_TEXT_KEY: f"{smallest_text_pt(fig):.2f}",
    }
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=metadata)
    pyplot().close(fig)
