"""Figures of the test chapter, each drawn from a tidy results table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from hazegov.survey.describe import SYNTHETIC_MARK, TEXT_WIDTH_IN, save_png


def _mark(fig: plt.Figure, synthetic: bool) -> None:
    if synthetic:
        fig.text(0.5, 0.005, SYNTHETIC_MARK, ha="center", va="bottom", fontsize=7, color="#b00020")


def scree_with_parallel_analysis(
    table: pd.DataFrame, method_label: str, path: str | Path, *, synthetic: bool
) -> None:
    """Observed eigenvalues against the parallel-analysis reference line."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.8), dpi=150)
    x = table["factor"].to_numpy()
    ax.plot(x, table["observed"], marker="o", color="#1f4e79", label="Observed")
    ax.plot(
        x,
        table["simulated_quantile"],
        linestyle="--",
        color="#c0504d",
        label="Parallel analysis (random data, upper quantile)",
    )
    ax.plot(x, table["simulated_mean"], linestyle=":", color="#c0504d", label="Random data, mean")
    ax.axhline(0, color="#999999", linewidth=0.6)
    ax.set_xlabel("Factor")
    ax.set_ylabel("Eigenvalue")
    ax.set_xticks(x)
    ax.set_title(f"Scree plot with parallel analysis ({method_label})", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _mark(fig, synthetic)
    save_png(fig, path)


def loading_heatmap(loadings: pd.DataFrame, path: str | Path, *, synthetic: bool) -> None:
    """Pattern loadings, items by factors, annotated."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 0.22 * len(loadings) + 1.3), dpi=150)
    sns.heatmap(
        loadings,
        annot=True,
        fmt=".2f",
        cmap="RdBu_r",
        vmin=-1,
        vmax=1,
        center=0,
        cbar_kws={"label": "Pattern loading"},
        annot_kws={"fontsize": 7},
        ax=ax,
    )
    ax.set_xlabel("Factor")
    ax.set_ylabel("Item")
    ax.tick_params(labelsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _mark(fig, synthetic)
    save_png(fig, path)


def group_comparison(
    scores: pd.DataFrame,
    constructs: Sequence[str],
    group: str,
    group_labels: Mapping[str, str],
    path: str | Path,
    *,
    synthetic: bool,
    min_count: int = 1,
    score_ranges: Mapping[str, tuple[float, float] | None] | None = None,
) -> None:
    """Construct scores by group: every respondent as a point, with group means and 95% CIs.

    A group of fewer than `min_count` respondents is named but not drawn: its points would
    show the answers of a handful of people in one bureau (the small-cell rule of the tables).
    `score_ranges` (construct -> lowest and highest possible score, from the codebook) labels
    each axis with its scale's range, as a 7-point scale is not scored 1-5; a construct it does
    not give is labelled "Score" only.
    """
    long = scores.melt(
        id_vars=[group], value_vars=list(constructs), var_name="construct", value_name="score"
    )
    long["group_label"] = long[group].map(group_labels).fillna(long[group])
    order = [group_labels.get(g, g) for g in group_labels if g in set(scores[group])]
    counts = scores[group].map(group_labels).fillna(scores[group]).value_counts()
    withheld = {label for label in order if counts.get(label, 0) < min_count}
    n = len(constructs)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(TEXT_WIDTH_IN, 2.9 * rows), dpi=150, sharey=True, squeeze=False
    )
    rng = np.random.default_rng(0)
    for ax, construct in zip(axes.flat, constructs, strict=False):
        part = long[long["construct"] == construct]
        span = (score_ranges or {}).get(construct)
        middle = (span[0] + span[1]) / 2 if span else float(np.nanmean(part["score"]))
        for i, label in enumerate(order):
            if label in withheld:
                ax.text(
                    i, middle, f"n < {min_count}\nnot shown", ha="center", va="center", fontsize=6.5
                )
                continue
            values = part.loc[part["group_label"] == label, "score"].dropna().to_numpy()
            ax.scatter(
                i + rng.uniform(-0.25, 0.25, len(values)),
                values,
                s=4,
                alpha=0.45,
                color="#5b7fa6",
                linewidths=0,
            )
            if len(values) > 1:
                mean = values.mean()
                half = (
                    stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
                )
                ax.errorbar(
                    i,
                    mean,
                    yerr=half,
                    fmt="D",
                    color="#b22222",
                    markersize=4,
                    capsize=3,
                    linewidth=1.4,
                )
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels(order)
        ax.set_title(construct, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel(f"Score ({span[0]:g}-{span[1]:g})" if span else "Score")
        ax.tick_params(axis="x", labelsize=6.5, rotation=40)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _mark(fig, synthetic)
    save_png(fig, path)


def coefficient_forest(
    coefficients: pd.DataFrame,
    path: str | Path,
    *,
    estimate: str,
    low: str,
    high: str,
    label: str,
    xlabel: str,
    reference: float,
    synthetic: bool,
) -> None:
    """Point estimates with confidence intervals, one row per term."""
    table = coefficients.iloc[::-1]
    fig, ax = plt.subplots(figsize=(0.8 * TEXT_WIDTH_IN, 0.32 * len(table) + 1.3), dpi=150)
    y = np.arange(len(table))
    ax.errorbar(
        table[estimate],
        y,
        xerr=[table[estimate] - table[low], table[high] - table[estimate]],
        fmt="o",
        color="#1f4e79",
        ecolor="#1f4e79",
        capsize=2,
        markersize=4,
    )
    ax.axvline(reference, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_yticks(y)
    ax.set_yticklabels(table[label], fontsize=8)
    ax.set_xlabel(xlabel)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _mark(fig, synthetic)
    save_png(fig, path)


def path_diagram(
    paths: pd.DataFrame,
    positions: Mapping[str, tuple[float, float]],
    path: str | Path,
    *,
    synthetic: bool,
) -> None:
    """Constructs as boxes, structural paths as arrows labelled with standardized estimates."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.9), dpi=150)
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.1, 1.1)
    ax.axis("off")
    for name, (x, y) in positions.items():
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=10,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": "#e8eef7", "edgecolor": "#333333"},
        )
    for row in paths.itertuples(index=False):
        x0, y0 = positions[row.predictor]
        x1, y1 = positions[row.outcome]
        significant = row.p_value < 0.05
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 1.4 if significant else 0.8,
                "color": "#1f4e79" if significant else "#999999",
                "linestyle": "-" if significant else "--",
                "shrinkA": 22,
                "shrinkB": 22,
            },
        )
        stars = "*" if significant else ""
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2 + 0.035,
            f"{row.std_estimate:.2f}{stars}",
            ha="center",
            va="center",
            fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
        )
    ax.text(
        0.0,
        -0.08,
        "Standardized coefficients; * p < .05; dashed: not significant",
        fontsize=7.5,
        color="#444444",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _mark(fig, synthetic)
    save_png(fig, path)
