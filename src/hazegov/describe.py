"""Descriptions of the sample: participant flow figure and the sample by respondent group."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from hazegov.codebook import Codebook
from hazegov.outputs import atomic_path
from hazegov.tables import made_by

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
    return pd.DataFrame(rows)


def sample_table_markdown(table: pd.DataFrame, synthetic: bool) -> str:
    """Pipe table with a Quarto table caption and label."""
    lines = [
        "| Respondent group | 受访单位 | Sector | n | % |",
        "|:-------------------|:--------------|:-----------|---:|----:|",
    ]
    for row in table.itertuples(index=False):
        name = f"**{row.group_en}**" if row.resp_group == "total" else row.group_en
        lines.append(f"| {name} | {row.group_zh} | {row.sector} | {row.n} | {row.percent:.1f} |")
    note = " Synthetic data." if synthetic else ""
    lines.append("")
    origin = made_by("tbl-sample-by-group")
    lines.append(
        f": Analysed respondents by respondent group.{note} {origin} {{#tbl-sample-by-group}}"
    )
    return "\n".join(lines) + "\n"


def plot_participant_flow(flow: pd.DataFrame, path: str | Path, synthetic: bool) -> None:
    """CONSORT-style flow: the main column of remaining counts, exclusions to the side."""
    steps = flow[~flow["step"].isin(["received", "analysed"])].reset_index(drop=True)
    received = int(flow.loc[flow["step"] == "received", "remaining"].iloc[0])
    analysed = int(flow.loc[flow["step"] == "analysed", "remaining"].iloc[0])
    n = len(steps)
    fig, ax = plt.subplots(figsize=(7.5, 1.1 * (n + 2) + 0.6), dpi=150)
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.8, n + 1.6)
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
    if synthetic:
        ax.text(5, -0.65, SYNTHETIC_MARK, ha="center", va="center", fontsize=7.5, color="#b00020")
    fig.tight_layout()
    save_png(fig, path)


def save_png(fig: plt.Figure, path: str | Path) -> None:
    """PNG without a software tag or date, so the bytes depend only on the figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=PNG_METADATA)
    plt.close(fig)
