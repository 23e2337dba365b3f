"""The policy timeline and the department co-mention network as figures.

The timeline is built from an event table so it can be drawn on its own axis (documents in
lanes by level) or laid over another time series, e.g. Beijing's PM2.5, on that series' axis.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from hazegov.policy.register import LEVELS, parse_partial_date, provisional
from hazegov.survey.describe import TEXT_WIDTH_IN, save_png

LEVEL_COLOURS = {"central": "#1f4e79", "municipal": "#c0504d", "district": "#4f8a3c"}
LEVEL_LABELS = {"central": "Central", "municipal": "Municipal (Beijing)", "district": "District"}
EVENT_COLUMNS = [
    "id",
    "label",
    "level",
    "issued",
    "precision",
    "date",
    "date_start",
    "date_end",
    "provisional",
    "in_force_from",
    "text_kind",
]


def policy_events(register: pd.DataFrame) -> pd.DataFrame:
    """One event per document: where it sits on a date axis and how sure the date is.

    `date` is the issue day when known to the day, else the middle of the month or year given;
    `date_start`/`date_end` bound what the sources allow. `provisional` marks dates the facts
    say to verify.
    """
    rows = []
    for _, record in register.iterrows():
        issued = parse_partial_date(str(record["issued"]))
        in_force = str(record.get("in_force_from") or "")
        rows.append(
            {
                "id": record["id"],
                "label": str(record.get("label_en") or "") or record["id"],
                "level": record["level"],
                "issued": issued.text,
                "precision": issued.precision,
                "date": pd.Timestamp(issued.midpoint),
                "date_start": pd.Timestamp(issued.start),
                "date_end": pd.Timestamp(issued.end),
                "provisional": provisional(record, "issued"),
                "in_force_from": (
                    pd.Timestamp(parse_partial_date(in_force).start) if in_force else pd.NaT
                ),
                "text_kind": record["text_kind"],
            }
        )
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return events.sort_values(["date", "id"], kind="mergesort").reset_index(drop=True)


def _slots(events: pd.DataFrame, days_per_char: float) -> list[int]:
    """Label rows within a lane: a label goes in the first row whose last label it clears."""
    free_from: list[pd.Timestamp] = []
    slots = []
    for event in events.itertuples(index=False):
        width = pd.Timedelta(days=(len(event.label) + 4) * days_per_char)
        for k, free in enumerate(free_from):
            if event.date >= free:
                free_from[k] = event.date + width
                slots.append(k)
                break
        else:
            free_from.append(event.date + width)
            slots.append(len(free_from) - 1)
    return slots


def _days_per_char(events: pd.DataFrame, ax: Axes) -> tuple[float, pd.Timestamp]:
    """Days one label character takes on the axis, and a right limit that fits every label."""
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    char_in = 7 / 72 * 0.55  # 7 pt sans-serif: average advance about 0.55 em
    start = events["date_start"].min() - pd.Timedelta(days=120)
    right = events["date_end"].max() + pd.Timedelta(days=120)
    for _ in range(8):  # the axis span and the label widths depend on each other
        days_per_char = (right - start).days * char_in / width_in
        ends = [
            date + pd.Timedelta(days=(len(label) + 3) * days_per_char)
            for date, label in zip(events["date"], events["label"], strict=True)
        ]
        right = max(events["date_end"].max() + pd.Timedelta(days=120), *ends)
    return (right - start).days * char_in / width_in, right


def plot_policy_timeline(
    events: pd.DataFrame, ax: Axes | None = None, *, overlay: bool = False
) -> Axes:
    """Documents on a date axis: lanes by level, or (overlay=True) marks on an existing axis.

    Filled markers: date known to the day; open markers: month or year only (the bar spans what
    the sources allow); a dagger marks a provisional date; a diamond the entry into force.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.2), dpi=150)
    levels = [lv for lv in LEVELS if lv in set(events["level"])]
    if overlay:
        transform = ax.get_xaxis_transform()
        for k, event in enumerate(events.itertuples(index=False)):
            colour = LEVEL_COLOURS[event.level]
            ax.axvline(event.date, color=colour, linewidth=0.7, linestyle=":", zorder=0)
            ax.text(
                event.date,
                0.98 - 0.06 * (k % 4),
                event.id + ("\u2020" if event.provisional else ""),
                transform=transform,
                rotation=0,
                fontsize=6.5,
                color=colour,
                ha="left",
                va="top",
            )
        return ax
    days_per_char, right = _days_per_char(events, ax)
    y = 0.0
    ticks = []
    for level in reversed(levels):
        lane = events[events["level"] == level]
        slots = _slots(lane, days_per_char)
        rows = max(slots) + 1
        colour = LEVEL_COLOURS[level]
        for slot, event in zip(slots, lane.itertuples(index=False), strict=True):
            yy = y + (rows - 1 - slot) * 0.55
            exact = event.precision == "day"
            if not exact:
                ax.plot(
                    [event.date_start, event.date_end],
                    [yy, yy],
                    color=colour,
                    linewidth=3,
                    alpha=0.35,
                    solid_capstyle="butt",
                )
            ax.plot(
                event.date,
                yy,
                marker="o",
                markersize=6,
                color=colour,
                markerfacecolor=colour if exact else "white",
                markeredgewidth=1.2,
            )
            if pd.notna(event.in_force_from):
                ax.plot([event.date, event.in_force_from], [yy, yy], color=colour, linewidth=0.8)
                ax.plot(event.in_force_from, yy, marker="D", markersize=4, color=colour)
            label = f"{event.label}{chr(0x2020) if event.provisional else ''}"
            ax.annotate(
                label,
                (event.date, yy),
                xytext=(6, 4),
                textcoords="offset points",
                fontsize=7,
                color="#222222",
                ha="left",
                va="bottom",
            )
        ticks.append((y + (rows - 1) * 0.275, LEVEL_LABELS[level]))
        y += rows * 0.55 + 0.6
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.set_ylim(-0.6, y - 0.2)
    ax.set_xlim(events["date_start"].min() - pd.Timedelta(days=120), right)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def timeline_figure(events: pd.DataFrame, path: str | Path, note: str) -> None:
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.4), dpi=150)
    plot_policy_timeline(events, ax)
    handles = [
        Line2D([], [], marker="o", linestyle="", color="#555555", label="issued (day known)"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color="#555555",
            markerfacecolor="white",
            label="issued (month or year only)",
        ),
        Line2D([], [], marker="D", linestyle="", color="#555555", markersize=4, label="in force"),
    ]
    ax.legend(
        handles=handles,
        fontsize=7,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=3,
    )
    ax.set_title("Air-pollution policy documents of the register, by level", fontsize=10)
    fig.text(0.01, 0.01, note, fontsize=6.5, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    save_png(fig, path)


def network_figure(
    graph: nx.Graph, nodes: pd.DataFrame, path: str | Path, window: str, note: str
) -> None:
    """Departments in shells by level (central inside); node size by mentions, edges by weight."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 5.4), dpi=150)
    ax.axis("off")
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "No department is named in the coded texts", ha="center", va="center")
    else:
        shells = [
            list(nodes.loc[nodes["level"] == level, "department"])
            for level in LEVELS
            if (nodes["level"] == level).any()
        ]
        pos = (
            nx.shell_layout(graph, nlist=shells)
            if len(shells) > 1
            else nx.circular_layout(graph.subgraph(shells[0]))
        )
        size = dict(zip(nodes["department"], nodes["mentions"], strict=True))
        weights = [graph[a][b]["weight"] for a, b in graph.edges()]
        top = max(weights, default=1)
        nx.draw_networkx_edges(
            graph,
            pos,
            ax=ax,
            width=[1.2 + 3.0 * (w - 1) / (top - 1) if top > 1 else 1.5 for w in weights],
            edge_color="#999999",
        )
        for level in LEVELS:
            members = [n for n in graph if graph.nodes[n]["level"] == level]
            if members:
                nx.draw_networkx_nodes(
                    graph,
                    pos,
                    nodelist=members,
                    ax=ax,
                    node_color=LEVEL_COLOURS[level],
                    node_size=[120 + 60 * size[n] for n in members],
                    alpha=0.9,
                    label=LEVEL_LABELS[level],
                )
        above = {n: (x, y + 0.09) for n, (x, y) in pos.items()}
        nx.draw_networkx_labels(
            graph,
            above,
            labels={n: graph.nodes[n]["short"] for n in graph},
            ax=ax,
            font_size=7,
            verticalalignment="bottom",
        )
        ax.legend(fontsize=7, frameon=False, loc="upper left", markerscale=0.5)
        ax.margins(0.15)
    where = "policy document" if window == "document" else f"{window} of a policy document"
    ax.set_title(f"Departments named in the same {where}", fontsize=10)
    fig.text(0.01, 0.01, note, fontsize=6.5, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    save_png(fig, path)
