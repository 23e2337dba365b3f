"""Figures of the air-quality strand. The data are real measurements: no synthetic mark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from hazegov.air.official import OfficialSeries
from hazegov.survey.describe import TEXT_WIDTH_IN, save_png

# HJ 633-2012 classes of the 24-hour PM2.5 mean (individual AQI 50, 100, 150, 200, 300) and the
# colours the Chinese AQI publishes them in.
AQI_BOUNDS = (0, 35, 75, 115, 150, 250, 10_000)
AQI_LABELS = (
    "0-35 excellent",
    "35-75 good",
    "75-115 light",
    "115-150 moderate",
    "150-250 heavy",
    "> 250 severe",
)
AQI_COLOURS = ("#00e400", "#ffff00", "#ff7e00", "#ff0000", "#99004c", "#7e0023")
MISSING_COLOUR = "#d9d9d9"
OUTSIDE_COLOUR = "#f4f4f4"
UNIT = "µg/m³"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "Sun")
COUNTERFACTUAL = "Pre-policy trend continued"
SITE_GREY = "#a6a6a6"


def _short_months(covered: str) -> str:
    """'March to December' -> 'Mar–Dec'; 'May' -> 'May'."""
    names = [m for m in covered.replace(" and ", " to ").split(" to ") if m]
    short = [m[:3] for m in names]
    return f"{short[0]}–{short[-1]}" if len(short) > 1 else short[0]


def _incomplete_label(annual: pd.DataFrame) -> str:
    """Legend text for hollow squares, naming each part year's months."""
    label = "year below the completeness rule"
    if "part_year" in annual and "months_covered" in annual:
        parts = [
            f"{int(r.year)} {_short_months(str(r.months_covered))}"
            for r in annual.itertuples()
            if bool(r.part_year)
        ]
        if parts:
            label += f"; part years: {', '.join(parts)} only"
    return label


def _week_grid(year: int, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Weekday x week arrays of one year: the daily values and a mask of days in the year
    (1 = a day of the measured period, 0.5 = a day of the year outside it, 0 = no day)."""
    first = pd.Timestamp(year, 1, 1)
    days = pd.date_range(first, pd.Timestamp(year, 12, 31), freq="D")
    offset = first.weekday()
    grid = np.full((7, 54), np.nan)
    inside = np.zeros((7, 54))
    for day in days:
        week = (day.dayofyear - 1 + offset) // 7
        inside[day.weekday(), week] = 1 if day in values.index else 0.5
        grid[day.weekday(), week] = values.get(day, np.nan)
    return grid, inside


def plot_calendar(daily: pd.DataFrame, path: str | Path, *, series: str, rule: str) -> None:
    """One row of weeks per year, each valid day coloured by its AQI class, the rest grey."""
    values = daily.set_index("date")["pm25"]
    years = sorted(daily["date"].dt.year.unique())
    cmap = ListedColormap(AQI_COLOURS).with_extremes(bad=(0, 0, 0, 0))
    norm = BoundaryNorm(AQI_BOUNDS, cmap.N)
    grey = ListedColormap(["#ffffff", OUTSIDE_COLOUR, MISSING_COLOUR])
    first_day, last_day = daily["date"].min(), daily["date"].max()
    height = 0.95 * len(years) + 1.5
    fig, axes = plt.subplots(len(years), 1, figsize=(TEXT_WIDTH_IN, height), dpi=150, squeeze=False)
    for ax, year in zip(axes[:, 0], years, strict=True):
        grid, inside = _week_grid(int(year), values)
        ax.imshow(
            inside,
            cmap=grey,
            norm=BoundaryNorm([-0.1, 0.25, 0.75, 1.1], 3),
            aspect="equal",
            interpolation="nearest",
        )
        ax.imshow(
            np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="equal", interpolation="none"
        )
        offset = pd.Timestamp(int(year), 1, 1).weekday()
        starts = [(pd.Timestamp(int(year), m, 1).dayofyear - 1 + offset) // 7 for m in range(1, 13)]
        ax.set_xticks(starts, MONTHS, fontsize=7)
        ax.set_yticks(range(7), WEEKDAYS, fontsize=6.5)
        part = first_day > pd.Timestamp(int(year), 1, 1) or last_day < pd.Timestamp(
            int(year), 12, 31
        )
        label = f"{year}\n(part)" if part else str(year)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    handles = [Patch(color=c, label=lab) for c, lab in zip(AQI_COLOURS, AQI_LABELS, strict=True)]
    handles.append(Patch(color=MISSING_COLOUR, label="too few valid hours"))
    handles.append(Patch(color=OUTSIDE_COLOUR, label="not measured"))
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=4,
        fontsize=7,
        frameon=False,
        title=f"Daily mean PM2.5 ({UNIT}), classes of HJ 633-2012",
        title_fontsize=7.5,
    )
    fig.suptitle(f"Daily mean PM2.5, {series} ({rule})", fontsize=10)
    fig.tight_layout(rect=(0, 0.85 / height, 1, 1 - 0.3 / height))
    save_png(fig, path)


def plot_its(
    fitted: pd.DataFrame,
    path: str | Path,
    *,
    policy_date: dt.date,
    policy_label: str,
    transition: tuple[pd.Timestamp, pd.Timestamp] | None,
    reference_lines: Sequence[tuple[float, str]] = (),
    title: str = "",
    level_only: bool = False,
) -> None:
    """Monthly means with the segmented fit, its pre-policy continuation and the policy date.

    The continued pre-policy trend is drawn only over the months the fit supports
    (`fitted["counterfactual_supported"]`) and every line is clipped to the plotted range, which
    the observed means set; the policy label sits on the side of the line with more room.
    """
    used = fitted["used"].to_numpy(dtype=bool)
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.9), dpi=150)
    top = _draw_its_fit(ax, fitted, used)
    _mark_policy(ax, policy_date, policy_label, transition)
    for value, label in reference_lines:
        ax.axhline(value, color="#999999", linewidth=0.7, linestyle=":")
        ax.annotate(
            label,
            xy=(0.005, value),
            xycoords=("axes fraction", "data"),
            va="bottom",
            fontsize=7,
            color="#666666",
        )
    handles = _its_legend(level_only, transition is not None, bool((~used).any()))
    fig.legend(handles=handles, fontsize=7, frameon=False, loc="lower center", ncol=3)
    ax.set_ylabel(f"Monthly mean PM2.5 ({UNIT})")
    ax.set_ylim(0, top)
    if title:
        ax.set_title(title, fontsize=8.5, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_png(fig, path)


def _draw_its_fit(ax: Axes, fitted: pd.DataFrame, used: np.ndarray) -> float:
    """Observed monthly means, the fit, the segmented trend and its continuation; the y top."""
    mid = fitted["month_start"] + pd.Timedelta(days=14)
    post = fitted["post"].to_numpy(dtype=bool)
    ax.plot(mid, fitted["pm25_mean"], color="#7f7f7f", linewidth=0.8, zorder=2)
    ax.scatter(mid[used], fitted["pm25_mean"][used], s=12, color="#404040", zorder=3)
    if (~used).any():
        ax.scatter(
            mid[~used],
            fitted["pm25_mean"][~used],
            s=14,
            facecolors="white",
            edgecolors="#404040",
            zorder=3,
        )
    top = max(float(fitted["pm25_mean"].max()) * 1.12, 1)
    ax.set_ylim(0, top)
    ax.plot(mid, fitted["fitted"], color="#1f4e79", linewidth=0.7, alpha=0.6, zorder=2)
    for part in (~post, post):
        ax.plot(mid[part], fitted["trend_deseasonalised"][part], color="#1f4e79", linewidth=2.2)
    supported = (
        fitted["counterfactual_supported"].to_numpy(dtype=bool)
        if "counterfactual_supported" in fitted
        else post
    )
    counterfactual = fitted["counterfactual_deseasonalised"].where(
        fitted["counterfactual_deseasonalised"] <= top
    )
    ax.plot(
        mid[supported], counterfactual[supported], color="#1f4e79", linewidth=1.4, linestyle="--"
    )
    for line in ax.get_lines():
        line.set_clip_on(True)
    return top


def _mark_policy(
    ax: Axes,
    policy_date: dt.date,
    policy_label: str,
    transition: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> None:
    """The transition month shaded, the policy date's line and its label on the roomier side."""
    if transition is not None:
        ax.axvspan(transition[0], transition[1], color="#f2dcdb", zorder=0)
    ax.axvline(pd.Timestamp(policy_date), color="#c0504d", linewidth=1.2)
    left, right = (float(x) for x in ax.get_xlim())
    where = (matplotlib.dates.date2num(pd.Timestamp(policy_date)) - left) / (right - left)
    room_left = where > 0.5
    ax.annotate(
        policy_label,
        xy=(pd.Timestamp(policy_date), 0.98),
        xycoords=("data", "axes fraction"),
        xytext=(-4 if room_left else 4, 0),
        textcoords="offset points",
        ha="right" if room_left else "left",
        va="top",
        fontsize=7.5,
        color="#c0504d",
    )


def _its_legend(level_only: bool, has_transition: bool, has_unused: bool) -> list[Artist]:
    """Legend entries of the ITS figure, the transition and unfitted months only when drawn."""
    handles: list[Artist] = [
        Line2D([], [], color="#404040", marker="o", markersize=3, linewidth=0.8, label="Observed"),
        Line2D([], [], color="#1f4e79", linewidth=0.7, alpha=0.6, label="Fitted (with season)"),
        Line2D(
            [],
            [],
            color="#1f4e79",
            linewidth=2.2,
            label="Trend and level change (season averaged)"
            if level_only
            else "Segmented trend (season averaged)",
        ),
        Line2D(
            [],
            [],
            color="#1f4e79",
            linewidth=1.4,
            linestyle="--",
            label="Trend without the level change" if level_only else COUNTERFACTUAL,
        ),
    ]
    if has_transition:
        handles.append(Patch(color="#f2dcdb", label="Transition month"))
    if has_unused:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markerfacecolor="white",
                markeredgecolor="#404040",
                linestyle="",
                label="Month not fitted",
            )
        )
    return handles


def plot_official(
    official: OfficialSeries,
    path: str | Path,
    *,
    site_annual: pd.DataFrame | None = None,
    site_label: str = "",
) -> None:
    """Official annual means with the 2017 target and the Grade II and WHO annual levels.

    Annual means of the hourly series (`site_annual`) are filled squares for years complete
    under the annual rule and hollow squares otherwise (part years included), so a mean of a
    few months is never read as a calendar-year mean.
    """
    table = official.series.dropna(subset=["pm25"])
    years = table["year"].to_numpy()
    values = table["pm25"].to_numpy()
    grade_ii = official.standards["gb3095_grade_ii"]
    who = official.standards.get("who_2021")
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.6), dpi=150)
    _draw_official_series(ax, table, grade_ii.annual)
    has_site = site_annual is not None and not site_annual.empty
    full = _draw_site_annual(ax, site_annual) if has_site else None
    _annual_level(ax, grade_ii.annual, f"{grade_ii.label} annual limit", "#c0504d", "--")
    if who is not None:
        _annual_level(ax, who.annual, f"{who.label} annual", "#4f6228", ":")
    ax.plot(
        [official.target_year - 0.4, official.target_year + 0.4],
        [official.target_value] * 2,
        color="#e46c0a",
        linewidth=2.5,
    )
    ax.annotate(
        f"{official.target_year} target: {official.target_wording}",
        xy=(official.target_year + 0.45, official.target_value),
        xytext=(0, 2),
        textcoords="offset points",
        va="bottom",
        fontsize=7,
        color="#e46c0a",
    )
    handles = _official_legend(site_annual if has_site else None, full, site_label)
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper right")
    first = int(min(years.min(), site_annual["year"].min() if site_annual is not None else 9999))
    ax.set_xticks(range(first, int(years.max()) + 1))
    ax.tick_params(axis="x", labelsize=7)
    top = float(values.max())
    if site_annual is not None and not site_annual.empty:
        top = max(top, float(site_annual["pm25_mean"].max()))
    ax.set_ylim(0, top * 1.2 + 5)
    ax.set_ylabel(f"Annual mean PM2.5 ({UNIT})")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    save_png(fig, path)


def _draw_official_series(ax: Axes, table: pd.DataFrame, grade_ii_annual: float) -> None:
    """The official annual means, provisional ones hollow, each labelled with its value."""
    years = table["year"].to_numpy()
    values = table["pm25"].to_numpy()
    provisional = table["pm25_provisional"].to_numpy(dtype=bool)
    ax.plot(years, values, color="#1f4e79", linewidth=1.5, zorder=2)
    ax.scatter(years[~provisional], values[~provisional], color="#1f4e79", s=22, zorder=3)
    ax.scatter(
        years[provisional],
        values[provisional],
        facecolors="white",
        edgecolors="#1f4e79",
        s=22,
        zorder=3,
    )
    for year, value, flag in zip(years, values, provisional, strict=True):
        label = f"{value:g}" + ("*" if flag else "")
        below = abs(value - grade_ii_annual) < 8 and value < grade_ii_annual
        ax.annotate(
            label,
            (year, value),
            xytext=(0, -11 if below else 6),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )


def _draw_site_annual(ax: Axes, site_annual: pd.DataFrame) -> np.ndarray:
    """The measured series' annual means: complete years filled, the others hollow."""
    full = (
        site_annual["complete"].to_numpy(dtype=bool)
        if "complete" in site_annual
        else np.ones(len(site_annual), dtype=bool)
    )
    ax.scatter(
        site_annual["year"][full],
        site_annual["pm25_mean"][full],
        marker="s",
        s=16,
        color=SITE_GREY,
        zorder=3,
    )
    ax.scatter(
        site_annual["year"][~full],
        site_annual["pm25_mean"][~full],
        marker="s",
        s=16,
        facecolors="white",
        edgecolors=SITE_GREY,
        zorder=3,
    )
    return full


def _annual_level(ax: Axes, level: float, name: str, colour: str, linestyle: str) -> None:
    """A standard's annual level as a horizontal line, named with its value at the left."""
    ax.axhline(level, color=colour, linewidth=1, linestyle=linestyle)
    ax.annotate(
        f"{name} ({level:g})",
        xy=(0, level),
        xycoords=("axes fraction", "data"),
        xytext=(3, 3),
        textcoords="offset points",
        ha="left",
        fontsize=7,
        color=colour,
    )


def _official_legend(
    site_annual: pd.DataFrame | None, full: np.ndarray | None, site_label: str
) -> list[Artist]:
    """Legend entries of the official figure; the measured series' only when it is drawn."""
    handles: list[Artist] = [
        Line2D([], [], color="#1f4e79", marker="o", markersize=4, label="Official city-wide mean"),
        Line2D(
            [],
            [],
            color="#1f4e79",
            marker="o",
            markersize=4,
            markerfacecolor="white",
            linestyle="",
            label="* provisional value",
        ),
    ]
    if site_annual is not None and full is not None:
        handles.append(
            Line2D(
                [], [], color=SITE_GREY, marker="s", markersize=4, linestyle="", label=site_label
            )
        )
        if (~full).any():
            handles.append(
                Line2D(
                    [],
                    [],
                    color=SITE_GREY,
                    marker="s",
                    markersize=4,
                    markerfacecolor="white",
                    linestyle="",
                    label=_incomplete_label(site_annual),
                )
            )
    return handles


def plot_stations(
    monthly: pd.DataFrame,
    path: str | Path,
    *,
    primary: str,
    order: Sequence[str],
) -> None:
    """Small multiples: monthly mean PM2.5 of every series, the primary series grey behind.

    Parameters
    ----------
    monthly : pandas.DataFrame
        `monthly_means` of every series (`series`, `month_start`, `pm25_mean`, `complete`).
    path : str or pathlib.Path
        The PNG to write.
    primary : str
        The series the paper quotes, drawn behind every panel.
    order : sequence of str
        The series, one panel each, in this order.
    """
    n = len(order)
    ncol = 1 if n == 1 else 2 if n <= 4 else 3
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(
        nrow,
        ncol,
        figsize=(TEXT_WIDTH_IN, 1.45 * nrow + 0.5),
        dpi=150,
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    reference = monthly[monthly["series"] == primary].sort_values("month_start")
    top = float(monthly["pm25_mean"].max()) * 1.08 if monthly["pm25_mean"].notna().any() else 1
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        series = order[k]
        rows = monthly[monthly["series"] == series].sort_values("month_start")
        if series != primary and not reference.empty:
            ax.plot(
                reference["month_start"],
                reference["pm25_mean"],
                color=SITE_GREY,
                linewidth=0.8,
                zorder=1,
            )
        ax.plot(rows["month_start"], rows["pm25_mean"], color="#1f4e79", linewidth=0.9, zorder=2)
        incomplete = ~rows["complete"].to_numpy(dtype=bool)
        ax.scatter(
            rows["month_start"][incomplete],
            rows["pm25_mean"][incomplete],
            s=7,
            facecolors="white",
            edgecolors="#1f4e79",
            linewidths=0.6,
            zorder=3,
        )
        label = f"{series} (primary)" if series == primary else series
        ax.set_title(label, fontsize=7.5, loc="left", pad=2)
        ax.set_ylim(0, top)
        ax.tick_params(labelsize=6.5, length=2)
        ax.spines[["top", "right"]].set_visible(False)
        ax.xaxis.set_major_locator(matplotlib.dates.YearLocator())
        ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%Y"))
    for ax in axes[:, 0]:
        ax.set_ylabel(UNIT, fontsize=7)
    handles = [
        Line2D([], [], color="#1f4e79", linewidth=0.9, label="Monthly mean PM2.5 of the series"),
        Line2D(
            [],
            [],
            color="#1f4e79",
            marker="o",
            markersize=3,
            markerfacecolor="white",
            linestyle="",
            label="month below the completeness rule",
        ),
    ]
    if n > 1:
        handles.append(
            Line2D([], [], color=SITE_GREY, linewidth=0.8, label=f"{primary} (primary series)")
        )
    fig.legend(handles=handles, fontsize=7, frameon=False, loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.35 / (1.45 * nrow + 0.5), 1, 1))
    save_png(fig, path)
