"""The analysis strand's workflow stages: one function per rule, the analysis sample and
settings in, tidy results and the paper's tables and variables out (not part of the
statistics library's API, `hazegov.analysis.__all__`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazegov.formatting import fmt_ci, fmt_p, fmt_p_op, num
from hazegov.io import (
    data_label,
    read_provenance,
    source_label,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from hazegov.paper.tables import Column, pipe_table
from hazegov.paper.variables import write_variables
from hazegov.privacy.disclosure import (
    DEFAULT_MIN_COUNT,
    as_count,
    display_count,
    suppress,
    suppress_columns,
)
from hazegov.survey.codebook import Codebook, load_codebook

log = logging.getLogger("hazegov")
SCORE = "score_"


def _load(sample: str | Path, codebook: str | Path) -> tuple[pd.DataFrame, Codebook, bool]:
    provenance = read_provenance(sample)
    return pd.read_parquet(sample), load_codebook(codebook), bool(provenance.get("synthetic"))


def _load_measurement(
    sample: str | Path, codebook: str | Path
) -> tuple[pd.DataFrame, Codebook, bool, dict[str, list[str]], list[str]]:
    """The analysis sample with its measurement model (construct -> items) and all items."""
    from hazegov.analysis.sample import measurement_model

    frame, cb, synthetic = _load(sample, codebook)
    model = measurement_model(cb)
    return frame, cb, synthetic, model, [i for group in model.values() for i in group]


def shown_every_item(
    frame: pd.DataFrame, cb: Codebook, items: list[str], *, what: str
) -> pd.DataFrame:
    """The respondents shown every one of `items` (display logic), for an analysis of all
    the scales together.

    A joint analysis of the items (the EFA, which needs complete data, and the KMO, Bartlett
    and parallel analysis that go with it) rests on the respondents shown every item: a scale
    shown to some respondents only has no answers to be correlated for the others. The
    analysis sample keeps those others for the analyses that do not use that scale. Without
    display logic the frame is returned as it is.
    """
    if not cb.has_display_logic:
        return frame
    from hazegov.survey import display

    every = display.shown(frame, cb, items).all(axis=1)
    log.info(
        "%s: %d of %d respondents were shown every item (display logic)",
        what,
        int(every.sum()),
        len(frame),
    )
    return frame[every.to_numpy()].reset_index(drop=True)


def _write_frames(frames: Mapping[str, pd.DataFrame], outputs: Mapping[str, str | Path]) -> None:
    for name, path in outputs.items():
        write_csv(frames[name], path)


def _summary(result: Any, synthetic: bool, **extra: Any) -> dict[str, Any]:
    record = {
        "data_source": data_label(synthetic),
        "warnings": list(getattr(result, "warnings", ()) or ()),
    }
    settings = getattr(result, "settings", None)
    if settings:
        record["settings"] = settings
    return record | extra


def _sector_labels(cb: Codebook) -> dict[str, str]:
    return {s.id: s.en for s in cb.sectors}


def group_variables(
    omnibus: pd.DataFrame,
    descriptives: pd.DataFrame,
    cb: Codebook,
    min_count: int = DEFAULT_MIN_COUNT,
) -> dict[str, Any]:
    """Per construct: Welch and Kruskal-Wallis results as the prose quotes them.

    The highest and lowest group are named among groups of at least `min_count` respondents
    only: the mean of a smaller group is withheld, so the prose does not rank it either.
    """
    out: dict[str, Any] = {}
    labels = {k: v.lower() for k, v in _sector_labels(cb).items()}
    for construct, rows in omnibus.groupby("outcome", sort=False):
        welch = rows[rows["test"] == "welch_anova"].iloc[0]
        kw = rows[rows["test"] == "kruskal_wallis"].iloc[0]
        block = descriptives[descriptives["outcome"] == construct]
        means = block[block["n"] >= min_count].set_index("group")["mean"].astype(float)
        if means.empty:
            means = pd.Series({"no group large enough to report": 0.0})
        out[str(construct)] = {
            "welch_f": num(welch["statistic"]),
            "welch_df1": f"{welch['df1']:.0f}",
            "welch_df2": num(welch["df2"], 1),
            "welch_p": fmt_p_op(welch["p"]),
            "welch_p_holm": fmt_p_op(welch["p_adj"]),
            "omega2": num(welch["effect_size"]),
            "omega2_ci": fmt_ci(welch["ci_low"], welch["ci_high"]),
            "kw_h": num(kw["statistic"]),
            "kw_p_holm": fmt_p_op(kw["p_adj"]),
            "epsilon2": num(kw["effect_size"]),
            "highest_group": labels.get(str(means.idxmax()), str(means.idxmax())),
            "lowest_group": labels.get(str(means.idxmin()), str(means.idxmin())),
        }
    welch_all = omnibus[omnibus["test"] == "welch_anova"]
    out["n_significant_welch"] = int((welch_all["p_adj"] < 0.05).sum())
    largest = str(welch_all.loc[welch_all["effect_size"].idxmax(), "outcome"])
    out["largest"] = cb.construct(largest).en.lower()
    out["n_constructs"] = len(welch_all)
    return out


def group_table(omnibus: pd.DataFrame, cb: Codebook, synthetic: bool) -> str:
    welch = omnibus[omnibus["test"] == "welch_anova"].set_index("outcome")
    kw = omnibus[omnibus["test"] == "kruskal_wallis"].set_index("outcome")
    rows = pd.DataFrame(
        {
            "construct": [cb.construct(c).en for c in welch.index],
            "welch": [f"{r.statistic:.2f} ({r.df1:.0f}, {r.df2:.1f})" for r in welch.itertuples()],
            "welch_p": welch["p_adj"].to_numpy(),
            "omega2": [
                f"{r.effect_size:.3f} {fmt_ci(r.ci_low, r.ci_high, 3)}" for r in welch.itertuples()
            ],
            "kw": [f"{r.statistic:.2f} ({r.df1:.0f})" for r in kw.loc[welch.index].itertuples()],
            "kw_p": kw.loc[welch.index, "p_adj"].to_numpy(),
            "eps2": [
                f"{r.effect_size:.3f} {fmt_ci(r.ci_low, r.ci_high, 3)}"
                for r in kw.loc[welch.index].itertuples()
            ],
        }
    )
    columns = [
        Column("construct", "Construct", align="left"),
        Column("welch", "Welch F (df)"),
        Column("welch_p", "p (Holm)", fmt_p),
        Column("omega2", "ω² [95% CI]"),
        Column("kw", "Kruskal-Wallis H (df)"),
        Column("kw_p", "p (Holm)", fmt_p),
        Column("eps2", "ε² [95% CI]"),
    ]
    return pipe_table(
        rows,
        columns,
        caption="Construct scores compared across respondent sectors",
        label="tbl-group-comparisons",
        synthetic=synthetic,
        note="Holm adjustment across the constructs within each test; effect-size intervals are "
        "percentile bootstrap intervals stratified by sector.",
    )


def run_group_comparisons(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    seed: int,
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    figure_out: str | Path,
    variables_out: str | Path,
    table_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Construct scores compared across respondent sectors (Welch, Kruskal-Wallis, pairwise)."""
    from hazegov.analysis.groups import compare_constructs, published_frames
    from hazegov.paper.figures import group_comparison

    frame, cb, synthetic = _load(sample, codebook)
    constructs = [c.id for c in cb.constructs]
    scores = frame[[settings["group"]]].join(
        frame[[SCORE + c for c in constructs]].rename(columns=lambda c: c.removeprefix(SCORE))
    )
    result = compare_constructs(
        scores, constructs, settings["group"], n_boot=int(settings["n_boot"]), seed=seed
    )
    frames = result.to_frames()
    _write_frames(published_frames(frames, min_cell_count), tables)
    write_json(_summary(result, synthetic), summary_out)
    write_variables(
        {"groups": group_variables(frames["omnibus"], frames["descriptives"], cb, min_cell_count)},
        variables_out,
    )
    write_text(table_out, group_table(frames["omnibus"], cb, synthetic))
    labels = _sector_labels(cb) if settings["group"] == "sector" else {}
    if not labels:
        labels = {str(g): str(g) for g in sorted(scores[settings["group"]].unique())}
    group_comparison(
        scores,
        constructs,
        settings["group"],
        labels,
        figure_out,
        synthetic=synthetic,
        min_count=min_cell_count,
        score_ranges={c: cb.score_range(c) for c in constructs},
    )


def _terms(names: list[str]) -> list[str]:
    return [SCORE + n for n in names]


def run_regressions(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    ols_tables: Mapping[str, str | Path],
    ordinal_tables: Mapping[str, str | Path],
    summary_out: str | Path,
    figure_out: str | Path,
    variables_out: str | Path,
    ols_table_out: str | Path,
    ordinal_table_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """OLS of perceived effectiveness (HC3) and the ordinal logit of overall satisfaction."""
    from hazegov.analysis.regression import ols_hc3, ordinal_logit

    frame, cb, synthetic = _load(sample, codebook)
    predictors = _terms(settings["predictors"])
    controls = list(settings["controls"])
    categorical = list(settings["categorical"])
    reference = {"sector": cb.sectors[0].id} if "sector" in categorical else None
    ols = ols_hc3(
        frame,
        SCORE + settings["outcome"],
        predictors,
        controls=controls,
        categorical=categorical,
        reference=reference,
    )
    ordinal = ordinal_logit(
        frame,
        cb.overall_rating.name,
        predictors,
        controls=controls,
        categorical=categorical,
        reference=reference,
    )
    _write_frames(_published_fit(ols.to_frames(), min_cell_count), ols_tables)
    _write_frames(_published_fit(ordinal.to_frames(), min_cell_count), ordinal_tables)
    write_json(
        {
            "ols": _summary(ols, synthetic),
            "ordinal_logit": _summary(ordinal, synthetic),
            "outcome": settings["outcome"],
            "reference_levels": reference or {},
        },
        summary_out,
    )
    ols_frames, ordinal_frames = ols.to_frames(), ordinal.to_frames()
    write_variables(
        {
            "regression": regression_variables(
                ols_frames,
                ordinal_frames,
                cb.construct(settings["outcome"]).en.lower(),
                min_cell_count,
            )
        },
        variables_out,
        rule="regressions",
    )
    write_text(ols_table_out, ols_table(ols_frames, cb, synthetic, min_cell_count))
    write_text(ordinal_table_out, ordinal_table(ordinal_frames, cb, synthetic))
    _standardized_forest(ols_frames, predictors, settings["outcome"], figure_out, synthetic)


def _standardized_forest(
    ols_frames: Mapping[str, pd.DataFrame],
    predictors: list[str],
    outcome: str,
    figure_out: str | Path,
    synthetic: bool,
) -> None:
    """The forest plot of the predictors' standardized OLS coefficients with their CIs."""
    from hazegov.paper.figures import coefficient_forest

    coefficients = ols_frames["coefficients"]
    shown = coefficients[coefficients["term"].isin(predictors)].copy()
    shown["label"] = shown["term"].str.removeprefix(SCORE)
    scale = shown["beta"] / shown["b"]
    shown["beta_low"] = shown["ci_low"] * scale
    shown["beta_high"] = shown["ci_high"] * scale
    coefficient_forest(
        shown,
        figure_out,
        estimate="beta",
        low="beta_low",
        high="beta_high",
        label="label",
        xlabel=f"Standardized coefficient on {outcome} (95% CI, HC3)",
        reference=0.0,
        synthetic=synthetic,
    )


def _association(estimate: float, p: float, outcome: str, alpha: float = 0.05) -> str:
    """The direction of an effect in words, stated only when it is significant."""
    if p >= alpha:
        return f"shows no clear association with {outcome}"
    return f"goes with {'higher' if estimate > 0 else 'lower'} {outcome}"


def _term_labeller(cb: Codebook):
    """Readable term names: construct ids, and 'Variable: level' for treatment dummies."""
    sectors = {s.id: s.en for s in cb.sectors}

    def label(term: str, column: str) -> str:
        if term.startswith(SCORE):
            return term.removeprefix(SCORE)
        if column in ("const", "Intercept"):
            return "Intercept"
        name = term.replace("_", " ").capitalize()
        if "[T." not in column:
            return name
        level = column.split("[T.", 1)[1].rstrip("]")
        if term == "sector":
            return f"{name}: {sectors.get(level, level)}"
        try:
            options = {str(o.code): o.en for o in cb.variable(term).options}
        except KeyError:
            options = {}
        return f"{name}: {options.get(level, level)}"

    return label


def _published_fit(frames: Mapping[str, pd.DataFrame], min_count: int) -> dict[str, pd.DataFrame]:
    """A model's frames as published: its sample size (and smallest outcome level) suppressed
    when below `min_count`."""
    return {
        name: suppress_columns(frame, ["n", "min_level_count"], min_count)
        if name == "fit"
        else frame
        for name, frame in frames.items()
    }


def _count(value: object, min_count: int) -> int | str:
    """A respondent count for the prose: the number, or '<m' when it is below `min_count`."""
    return as_count(display_count(int(value), min_count))  # type: ignore[call-overload]


def regression_variables(
    ols: Mapping[str, pd.DataFrame],
    ordinal: Mapping[str, pd.DataFrame],
    outcome: str,
    min_count: int = DEFAULT_MIN_COUNT,
) -> dict[str, Any]:
    fit = ols["fit"].iloc[0]
    out: dict[str, Any] = {
        "n": _count(fit["n"], min_count),
        "r2": num(fit["r2"]),
        "adj_r2": num(fit["adj_r2"]),
        "f_hc3": num(fit["f_hc3"]),
        "df_model": f"{fit['df_model']:.0f}",
        "df_resid": f"{fit['df_resid']:.0f}",
        "f_hc3_p": fmt_p_op(fit["f_hc3_p"]),
        "max_vif": num(ols["vif"]["gvif_root"].pow(2).max()),
    }
    for row in ols["coefficients"].itertuples(index=False):
        if row.term.startswith(SCORE):
            out[row.term.removeprefix(SCORE)] = {
                "association": _association(row.b, row.p, outcome),
                "b": num(row.b),
                "beta": num(row.beta),
                "p": fmt_p_op(row.p),
                "ci": fmt_ci(row.ci_low, row.ci_high),
            }
    ofit = ordinal["fit"].iloc[0]
    brant = ordinal["brant"].set_index("test").loc["omnibus"]
    out["ordinal"] = {
        "n": _count(ofit["n"], min_count),
        "pseudo_r2": num(ofit["pseudo_r2_mcfadden"]),
        "lr_chi2": num(ofit["lr_chi2"]),
        "lr_df": int(ofit["lr_df"]),
        "lr_p": fmt_p_op(ofit["lr_p"]),
        "brant_chi2": num(brant["chi2"]),
        "brant_df": int(brant["df"]),
        "brant_p": fmt_p_op(brant["p"]),
        "brant_verdict": "does not speak against" if brant["p"] >= 0.05 else "speaks against",
    }
    for row in ordinal["coefficients"].itertuples(index=False):
        if row.term.startswith(SCORE):
            out["ordinal"][row.term.removeprefix(SCORE)] = {
                "odds_ratio": num(row.odds_ratio),
                "ci": fmt_ci(row.or_ci_low, row.or_ci_high),
                "p": fmt_p_op(row.p),
            }
    return out


def ols_table(
    ols: Mapping[str, pd.DataFrame],
    cb: Codebook,
    synthetic: bool,
    min_count: int = DEFAULT_MIN_COUNT,
) -> str:
    _term_label = _term_labeller(cb)
    coefficients = ols["coefficients"].copy()
    vif = ols["vif"].set_index("term")["gvif_root"].pow(2)
    coefficients["label"] = [
        _term_label(t, c) for t, c in zip(coefficients["term"], coefficients["column"], strict=True)
    ]
    coefficients["ci"] = [
        fmt_ci(lo, hi)
        for lo, hi in zip(coefficients["ci_low"], coefficients["ci_high"], strict=True)
    ]
    coefficients["vif"] = coefficients["term"].map(vif)
    fit = ols["fit"].iloc[0]
    columns = [
        Column("label", "Term", align="left"),
        Column("b", "b", "{:.3f}"),
        Column("se", "SE (HC3)", "{:.3f}"),
        Column("ci", "95% CI"),
        Column("beta", "β", "{:.3f}"),
        Column("p", "p", fmt_p),
        Column("vif", "VIF", "{:.2f}"),
    ]
    return pipe_table(
        coefficients,
        columns,
        caption="OLS regression of perceived effectiveness",
        label="tbl-ols",
        synthetic=synthetic,
        note=f"n = {display_count(int(fit['n']), min_count)}, R² = {fit['r2']:.2f}, "
        f"adjusted R² = {fit['adj_r2']:.2f}. "
        "β: coefficient in standard deviations of the outcome per standard deviation of the "
        "predictor (dummies: per unit). VIF of a multi-category term: GVIF^(1/df) "
        "[@fox1992]. Years in post is 0 for respondents without a post (residents).",
        min_cell_count=min_count,
    )


def ordinal_table(ordinal: Mapping[str, pd.DataFrame], cb: Codebook, synthetic: bool) -> str:
    _term_label = _term_labeller(cb)
    coefficients = ordinal["coefficients"].copy()
    coefficients["label"] = [
        _term_label(t, c) for t, c in zip(coefficients["term"], coefficients["column"], strict=True)
    ]
    coefficients["ci"] = [
        fmt_ci(lo, hi)
        for lo, hi in zip(coefficients["or_ci_low"], coefficients["or_ci_high"], strict=True)
    ]
    brant = ordinal["brant"].set_index("test")["p"]
    coefficients["brant_p"] = coefficients["term"].map(brant)
    columns = [
        Column("label", "Term", align="left"),
        Column("odds_ratio", "Odds ratio", "{:.2f}"),
        Column("ci", "95% CI"),
        Column("p", "p", fmt_p),
        Column("brant_p", "Brant p", fmt_p),
    ]
    return pipe_table(
        coefficients,
        columns,
        caption="Proportional-odds logit of overall satisfaction with haze governance",
        label="tbl-ordinal",
        synthetic=synthetic,
        note="Brant p: Wald test that the term's effect is the same at every cut-point of the "
        "satisfaction scale (a small p speaks against proportional odds).",
    )


def run_reliability(
    sample: str | Path,
    codebook: str | Path,
    tables: Mapping[str, str | Path],
    variables_out: str | Path,
    table_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Item statistics and scale reliability (alpha with CI, omega, item-total correlations).

    Each item's floor and ceiling are its own lowest and highest codes in the codebook (an
    instrument may mix 5- and 7-point items). A scale with no reverse-worded item is allowed,
    but its row of the reliability results, the log and the table note warn about it.
    """
    from hazegov.analysis.items import item_statistics
    from hazegov.analysis.reliability import item_reliability, scale_reliability

    frame, cb, synthetic, model, items = _load_measurement(sample, codebook)
    ranges = {v.name: v.valid_range for v in cb.likert_items if v.valid_range is not None}
    unreversed = cb.scales_without_reverse_items
    for construct in unreversed:
        log.warning(
            "construct %s has no reverse-worded item: acquiescence cannot be told apart from "
            "agreement",
            construct,
        )
    frames = {
        "item_statistics": item_statistics(frame, items, ranges=ranges),
        "scale_reliability": scale_reliability(
            frame, model, reverse_items={c: cb.reverse_items(c) for c in model}
        ),
        "item_reliability": item_reliability(frame, model),
    }
    _write_frames(
        {
            **frames,
            "item_statistics": suppress_columns(frames["item_statistics"], ["n"], min_cell_count),
            "scale_reliability": suppress_columns(
                frames["scale_reliability"], ["n", "n_complete", "omega_n"], min_cell_count
            ),
        },
        tables,
    )
    write_variables(
        {"reliability": _reliability_variables(frames)}, variables_out, rule="reliability"
    )
    write_text(
        table_out, _reliability_table(frames["scale_reliability"], cb, synthetic, min_cell_count)
    )


def _reliability_variables(frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The paper's numbers on item distributions and scale reliability."""
    scales = frames["scale_reliability"]
    stats = frames["item_statistics"]
    alpha = scales["alpha_listwise"]
    return {
        "alpha_min": num(alpha.min()),
        "alpha_max": num(alpha.max()),
        "omega_min": num(scales["omega_total"].min()),
        "omega_max": num(scales["omega_total"].max()),
        "n_scales": len(scales),
        "n_alpha_below_070": int((alpha < 0.70).sum()),
        "item_mean_min": num(stats["mean"].min()),
        "item_mean_max": num(stats["mean"].max()),
        "max_abs_skew": num(stats["skewness"].abs().max()),
        "max_abs_kurtosis": num(stats["excess_kurtosis"].abs().max()),
        "min_item_total": num(frames["item_reliability"]["corrected_item_total_r"].min()),
    }


def _reliability_table(
    scales: pd.DataFrame, cb: Codebook, synthetic: bool, min_cell_count: int
) -> str:
    """The paper's table of each construct scale's alpha (with CI) and omega."""
    rows = scales.assign(
        n_shown=[display_count(int(n), min_cell_count) for n in scales["n_complete"]],
        label=[cb.construct(c).en for c in scales["construct"]],
        alpha_ci=[
            fmt_ci(a, b)
            for a, b in zip(
                scales["alpha_listwise_ci_lower"], scales["alpha_listwise_ci_upper"], strict=True
            )
        ],
    )
    columns = [
        Column("label", "Construct", align="left"),
        Column("k", "Items"),
        Column("n_shown", "n"),
        Column("alpha_listwise", "Cronbach's α", "{:.2f}"),
        Column("alpha_ci", "95% CI"),
        Column("omega_total", "McDonald's ω", "{:.2f}"),
    ]
    return pipe_table(
        rows,
        columns,
        caption="Reliability of the construct scales",
        label="tbl-reliability",
        synthetic=synthetic,
        note="α with Feldt's confidence interval; ω total from a one-factor maximum-likelihood "
        "model of each scale. Reverse-worded items reversed before analysis."
        + _no_reverse_note(cb, cb.scales_without_reverse_items),
        min_cell_count=min_cell_count,
    )


def _no_reverse_note(cb: Codebook, constructs: tuple[str, ...]) -> str:
    """The table note's warning about scales without a reverse-worded item ('' when none)."""
    if not constructs:
        return ""
    names = ", ".join(cb.construct(c).en for c in constructs)
    return (
        f" No reverse-worded item in: {names}; there, agreeing with every item cannot be told "
        "apart from acquiescence."
    )


def _factor_names(loadings: pd.DataFrame, model: Mapping[str, list[str]]) -> dict[str, str]:
    """Name each EFA factor after the construct whose items load on it most."""
    names: dict[str, str] = {}
    for factor in loadings.columns:
        strength = {
            c: float(loadings.loc[items, factor].abs().mean()) for c, items in model.items()
        }
        best = max(strength, key=lambda c: strength[c])
        names[factor] = best if best not in names.values() else f"{best} ({factor})"
    return names


def run_factor_structure(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    seed: int,
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    variables_out: str | Path,
    scree_out: str | Path,
    heatmap_out: str | Path,
) -> None:
    """Sampling adequacy, the number of factors (parallel analysis) and the oblique EFA."""
    from hazegov.analysis.efa import exploratory_factor_analysis
    from hazegov.analysis.factorability import bartlett_sphericity, kmo, parallel_analysis
    from hazegov.paper.figures import loading_heatmap, scree_with_parallel_analysis

    frame, cb, synthetic, model, items = _load_measurement(sample, codebook)
    frame = shown_every_item(frame, cb, items, what="factor structure")
    kmo_overall, kmo_items = kmo(frame, items)
    bartlett = bartlett_sphericity(frame, items)
    pa_settings = settings["parallel_analysis"]
    pa = parallel_analysis(
        frame,
        items,
        method=pa_settings["method"],
        n_iter=int(pa_settings["n_iter"]),
        seed=seed,
        quantile=float(pa_settings["quantile"]),
    )
    efa_settings = settings["efa"]
    n_factors = len(model)
    efa = exploratory_factor_analysis(
        frame, items, n_factors, rotation=efa_settings["rotation"], method=efa_settings["method"]
    )
    names = _factor_names(efa.loadings, model)
    loadings = efa.loadings.rename(columns=names)
    phi = efa.factor_correlations.rename(index=names, columns=names)
    _write_frames(
        _factor_frames(kmo_overall, kmo_items, pa, efa, names, loadings, phi, items), tables
    )
    write_json(
        {
            "data_source": data_label(synthetic),
            "bartlett": bartlett,
            "kmo_overall": kmo_overall,
            "parallel_analysis": {
                "method": pa.method,
                "description": pa.description,
                "suggested_n_factors": pa.suggested_n_factors,
                "n_iter": pa.n_iter,
                "quantile": pa.quantile,
                "seed": pa.seed,
            },
            "efa": {
                "n_factors": n_factors,
                "rotation": efa_settings["rotation"],
                "method": efa_settings["method"],
                "factor_names": names,
            },
            "warnings": [*pa.warnings, *efa.warnings],
        },
        summary_out,
    )
    adequacy = {
        "kmo": num(kmo_overall),
        "kmo_item_min": num(kmo_items.min()),
        "bartlett_chi2": num(bartlett["chi2"], 1),
        "bartlett_df": int(bartlett["df"]),
        "bartlett_p": fmt_p_op(bartlett["p"]),
        "pa_method": pa.description.split(":", 1)[0],
        "pa_suggested": int(pa.suggested_n_factors),
    }
    variables = adequacy | _efa_variables(efa, efa_settings, model, names, loadings, phi)
    write_variables({"factors": variables}, variables_out, rule="factor_structure")
    short = pa.description.split(":", 1)[0]
    scree_with_parallel_analysis(pa.eigenvalues, short, scree_out, synthetic=synthetic)
    ordered = [c for c in model if c in loadings.columns]
    ordered += [c for c in loadings.columns if c not in ordered]
    loading_heatmap(loadings[ordered], heatmap_out, synthetic=synthetic)


def _factor_frames(
    kmo_overall: float,
    kmo_items: pd.Series,
    pa: Any,
    efa: Any,
    names: dict[str, str],
    loadings: pd.DataFrame,
    phi: pd.DataFrame,
    items: list[str],
) -> dict[str, pd.DataFrame]:
    """The factor-structure tables: KMO, parallel analysis and the EFA, factors named."""
    kmo_table = pd.concat(
        [
            pd.DataFrame({"item": ["overall"], "kmo": [kmo_overall]}),
            kmo_items.rename("kmo").rename_axis("item").reset_index(),
        ],
        ignore_index=True,
    )
    return {
        "kmo": kmo_table,
        "parallel_analysis": pa.eigenvalues,
        "efa_loadings": loadings.rename_axis("item").reset_index(),
        "efa_factor_correlations": phi.rename_axis("factor").reset_index(),
        "efa_variance": efa.variance.assign(factor=lambda d: d["factor"].map(names)),
        "efa_communalities": pd.DataFrame(
            {"item": items, "communality": efa.communalities.loc[items].to_numpy()}
        ),
    }


def _efa_variables(
    efa: Any,
    efa_settings: Mapping[str, Any],
    model: Mapping[str, list[str]],
    names: dict[str, str],
    loadings: pd.DataFrame,
    phi: pd.DataFrame,
) -> dict[str, Any]:
    """The paper's numbers on the EFA: its settings, variance explained, own loadings."""
    matched = set(model) <= set(loadings.columns)
    own = (
        [float(loadings.loc[i, c]) for c, group in model.items() for i in group] if matched else []
    )
    return {
        "efa_n_factors": len(model),
        "efa_rotation": efa_settings["rotation"],
        "efa_method": efa_settings["method"],
        "efa_variance_pct": f"{100 * efa.variance['cumulative'].iloc[-1]:.1f}",
        "efa_own_loading_min": num(min(own)) if own else "not defined",
        "efa_max_factor_correlation": num(
            phi.where(~np.eye(len(phi), dtype=bool)).abs().max().max()
        ),
        "efa_distinct_factors": len({n.split(" ")[0] for n in names.values()}),
    }


def _fit_variables(fit: Mapping[str, Any], min_count: int = DEFAULT_MIN_COUNT) -> dict[str, Any]:
    return {
        "chi2": num(fit["chi2"]),
        "df": int(fit["df"]),
        "p": fmt_p_op(fit["p_value"]),
        "cfi": num(fit["cfi"], 3),
        "tli": num(fit["tli"], 3),
        "rmsea": num(fit["rmsea"], 3),
        "rmsea_ci": fmt_ci(fit["rmsea_ci_lower"], fit["rmsea_ci_upper"], 3),
        "srmr": num(fit["srmr"], 3),
        "n": _count(fit["n"], min_count),
    }


def run_cfa(
    sample: str | Path,
    codebook: str | Path,
    tables: Mapping[str, str | Path],
    variables_out: str | Path,
    table_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Confirmatory factor analysis by ML, and convergent and discriminant validity."""
    from hazegov.analysis.cfa import construct_validity, fit_cfa

    frame, cb, synthetic, model, _ = _load_measurement(sample, codebook)
    result = fit_cfa(frame, model)
    validity = construct_validity(result, model)
    frames = result.to_frames()
    validity_frames = validity.to_frames()
    _write_frames(
        {
            **_published_fit(frames, min_cell_count),
            "validity": validity_frames["reliability"],
            "validity_pairs": validity_frames["pairs"],
        },
        tables,
    )
    fit = frames["fit"].iloc[0]
    loadings = frames["loadings"]["std_estimate"]
    reliability = validity_frames["reliability"]
    pairs = validity_frames["pairs"]
    variables = _fit_variables(fit, min_cell_count) | {
        "converged": bool(fit["converged"]),
        "std_loading_min": num(loadings.min()),
        "std_loading_max": num(loadings.max()),
        "cr_min": num(reliability["composite_reliability"].min()),
        "cr_max": num(reliability["composite_reliability"].max()),
        "ave_min": num(reliability["ave"].min()),
        "ave_max": num(reliability["ave"].max()),
        "n_ave_below_050": int((reliability["ave"] < 0.5).sum()),
        "n_fornell_larcker_met": int(reliability["fornell_larcker_met"].sum()),
        "n_constructs": len(reliability),
        "htmt_max": num(pairs["htmt"].max()),
        "htmt_max_pair": " and ".join(
            pairs.loc[pairs["htmt"].idxmax(), ["construct_1", "construct_2"]].astype(str)
        ),
        "warnings": len(result.warnings),
    }
    write_variables({"cfa": variables}, variables_out, rule="cfa")
    write_text(table_out, _validity_table(reliability, pairs, cb, synthetic))


def _validity_table(
    reliability: pd.DataFrame, pairs: pd.DataFrame, cb: Codebook, synthetic: bool
) -> str:
    """The paper's table of convergent and discriminant validity, one row per construct."""
    htmt_max = {
        c: float(pairs.loc[(pairs["construct_1"] == c) | (pairs["construct_2"] == c), "htmt"].max())
        for c in reliability["construct"]
    }
    rows = reliability.assign(
        label=[cb.construct(c).en for c in reliability["construct"]],
        htmt_max=reliability["construct"].map(htmt_max),
        fl=reliability["fornell_larcker_met"].map({True: "yes", False: "no"}),
    )
    columns = [
        Column("label", "Construct", align="left"),
        Column("composite_reliability", "CR", "{:.2f}"),
        Column("ave", "AVE", "{:.2f}"),
        Column("sqrt_ave", "√AVE", "{:.2f}"),
        Column("max_abs_factor_correlation", "Largest factor correlation", "{:.2f}"),
        Column("fl", "Fornell-Larcker met"),
        Column("htmt_max", "Largest HTMT", "{:.2f}"),
    ]
    return pipe_table(
        rows,
        columns,
        caption="Convergent and discriminant validity in the confirmatory factor analysis",
        label="tbl-validity",
        synthetic=synthetic,
        note="CR: composite reliability; AVE: average variance extracted, both from "
        "standardized loadings; Fornell-Larcker met when √AVE exceeds every correlation of "
        "the factor; HTMT: heterotrait-monotrait ratio of correlations [@henseler2015].",
    )


def run_common_method_variance(
    sample: str | Path,
    codebook: str | Path,
    comparison_out: str | Path,
    summary_out: str | Path,
    variables_out: str | Path,
) -> None:
    """Harman's single-factor test and a CFA with a common latent method factor."""
    from hazegov.analysis.cmv import common_latent_factor, harman_single_factor

    frame, _cb, synthetic, model, items = _load_measurement(sample, codebook)
    harman = harman_single_factor(frame, items)
    clf = common_latent_factor(frame, model)
    write_csv(clf.comparison(), comparison_out)
    write_json(
        {
            "data_source": data_label(synthetic),
            "harman": harman,
            "common_latent_factor": clf.to_dict(),
        },
        summary_out,
    )
    write_variables(
        {
            "cmv": {
                "harman_share_pct": f"{100 * harman['first_component_share']:.1f}",
                "harman_exceeds": "exceeds" if harman["exceeds_threshold"] else "stays below",
                "clf_delta_chi2": num(clf.delta_chi2),
                "clf_delta_df": int(clf.delta_df),
                "clf_p": fmt_p_op(clf.p_value),
                "clf_method_variance_pct": f"{100 * clf.method_variance_share:.1f}",
                "clf_verdict": "improves" if clf.p_value < 0.05 else "does not improve",
            }
        },
        variables_out,
        rule="common_method_variance",
    )


def run_measurement_invariance(
    sample: str | Path,
    codebook: str | Path,
    group: str,
    table_csv: str | Path,
    summary_out: str | Path,
    variables_out: str | Path,
    table_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Configural, metric and scalar invariance across two respondent sectors."""
    from hazegov.analysis._common import AnalysisError
    from hazegov.analysis.invariance import measurement_invariance

    frame, cb, synthetic, model, _ = _load_measurement(sample, codebook)
    counts = frame[group].value_counts().sort_index(ascending=False)
    caption = invariance_caption(group, list(counts.index), cb)
    # The group sizes add up to the published n: complementary suppression against it.
    sizes = suppress(counts.astype(int).tolist(), min_cell_count, [range(len(counts))])
    group_sizes = ", ".join(
        f"{_group_label(group, k)} {v}" for k, v in zip(counts.index, sizes.display(), strict=True)
    )
    try:
        result = measurement_invariance(frame, model, group)
    except AnalysisError as exc:
        # Too few cases in a group (e.g. under listwise deletion) or no convergence: the paper
        # says the models could not be estimated and why, instead of the build stopping.
        _invariance_not_estimable(
            str(exc), group, len(counts), group_sizes, synthetic,
            table_csv, summary_out, variables_out, table_out, caption,
        )  # fmt: skip
        return
    table = result.table
    write_csv(suppress_columns(table, ["n"], min_cell_count), table_csv)
    write_json(
        {
            "data_source": data_label(synthetic),
            "group": group,
            "status": "estimated",
            "warnings": list(result.warnings),
        },
        summary_out,
    )
    rows = table.set_index("model")
    variables = _invariance_variables(rows, group, len(counts), group_sizes)
    write_variables({"invariance": variables}, variables_out, rule="measurement_invariance")
    write_text(table_out, _invariance_table(table, caption, synthetic))


def _invariance_level_holds(rows: pd.DataFrame, level: str) -> bool:
    """Chen (2007): a drop in CFI of at most .010 with a rise in RMSEA of at most .015."""
    return bool(rows.loc[level, "delta_cfi"] >= -0.010 and rows.loc[level, "delta_rmsea"] <= 0.015)


def _invariance_variables(
    rows: pd.DataFrame, group: str, n_groups: int, group_sizes: str
) -> dict[str, Any]:
    """The paper's numbers on each invariance model and the highest level that holds."""
    levels = [lvl for lvl in ("metric", "scalar") if _invariance_level_holds(rows, lvl)]
    highest = (
        "scalar"
        if levels == ["metric", "scalar"]
        else ("metric" if "metric" in levels else "configural")
    )
    variables: dict[str, Any] = {
        "group": group,
        "n_groups": n_groups,
        "group_sizes": group_sizes,
        "highest_level": highest,
        "estimated": True,
    }
    for level in ("configural", "metric", "scalar"):
        r = rows.loc[level]
        variables[level] = {
            "chi2": num(r["chi2"]),
            "df": int(r["df"]),
            "cfi": num(r["cfi"], 3),
            "rmsea": num(r["rmsea"], 3),
        }
        if level != "configural":
            variables[level] |= {
                "delta_cfi": num(r["delta_cfi"], 3),
                "delta_rmsea": num(r["delta_rmsea"], 3),
                "delta_chi2": num(r["delta_chi2"]),
                "delta_df": int(r["delta_df"]),
                "delta_p": fmt_p_op(r["delta_p_value"]),
            }
    variables["verdict"] = (
        f"invariance holds up to the {highest} level: from the configural to the metric model "
        f"ΔCFI = {variables['metric']['delta_cfi']}, from the metric to the scalar model "
        f"ΔCFI = {variables['scalar']['delta_cfi']}"
    )
    return variables


def _invariance_table(table: pd.DataFrame, caption: str, synthetic: bool) -> str:
    """The paper's table of the configural, metric and scalar models and their comparisons."""
    shown = table.assign(
        label=table["model"].str.capitalize(),
        rmsea_ci=[
            fmt_ci(a, b, 3)
            for a, b in zip(table["rmsea_ci_lower"], table["rmsea_ci_upper"], strict=True)
        ],
    )
    columns = [
        Column("label", "Model", align="left"),
        Column("chi2", "χ²", "{:.2f}"),
        Column("df", "df", "{:.0f}"),
        Column("cfi", "CFI", "{:.3f}"),
        Column("rmsea", "RMSEA", "{:.3f}"),
        Column("rmsea_ci", "90% CI"),
        Column("delta_chi2", "Δχ²", "{:.2f}"),
        Column("delta_df", "Δdf", "{:.0f}"),
        Column("delta_p_value", "p", fmt_p),
        Column("delta_cfi", "ΔCFI", "{:.3f}"),
        Column("delta_rmsea", "ΔRMSEA", "{:.3f}"),
    ]
    return pipe_table(
        shown,
        columns,
        caption=caption,
        label="tbl-invariance",
        synthetic=synthetic,
        note="Each model is compared with the one above it. A level is taken to hold when CFI "
        "drops by at most .010 and RMSEA rises by at most .015 [@chen2007].",
    )


def _invariance_not_estimable(
    reason: str,
    group: str,
    n_groups: int,
    group_sizes: str,
    synthetic: bool,
    table_csv: str | Path,
    summary_out: str | Path,
    variables_out: str | Path,
    table_out: str | Path,
    caption: str,
) -> None:
    """The outputs of an invariance analysis the data cannot support, with the reason."""
    write_csv(
        pd.DataFrame({"model": ["configural", "metric", "scalar"], "status": "not estimable"}),
        table_csv,
    )
    source = data_label(synthetic)
    write_json(
        {"data_source": source, "group": group, "status": "not estimable", "reason": reason},
        summary_out,
    )
    verdict = f"the models could not be estimated ({reason})"
    write_variables(
        {
            "invariance": {
                "group": group,
                "n_groups": n_groups,
                "group_sizes": group_sizes,
                "estimated": False,
                "highest_level": "none",
                "verdict": verdict,
            }
        },
        variables_out,
        rule="measurement_invariance",
    )
    shown = pd.DataFrame({"label": ["Configural", "Metric", "Scalar"], "status": "not estimable"})
    write_text(
        table_out,
        pipe_table(
            shown,
            [Column("label", "Model", align="left"), Column("status", "Result", align="left")],
            caption=caption,
            label="tbl-invariance",
            synthetic=synthetic,
            note=f"No model was estimated: {reason}.",
        ),
    )


def _group_label(group: str, value: object, cb: Codebook | None = None) -> str:
    """A group of the invariance grouping in words.

    The cleaning step derives ``government`` (true or false) and ``sector`` from the respondent
    group, so those read as the codebook words them; any other grouping variable from config is
    named with its value, or its answer label when the codebook defines it.
    """
    if group == "government" and isinstance(value, bool | np.bool_):
        return "government" if value else "non-government"
    if cb is not None:
        if group == "sector":
            labels = {s.id: s.en for s in cb.sectors}
            return labels.get(str(value), str(value))
        try:
            options = {str(o.code): o.en for o in cb.variable(group).options}
            options |= {str(o.id): o.en for o in cb.variable(group).options if o.id}
        except KeyError:
            options = {}
        if str(value) in options:
            return options[str(value)]
    return f"{group} {value}"


def invariance_caption(group: str, values: list[object], cb: Codebook) -> str:
    """The invariance table's caption, naming the groups compared (from config and codebook).

    The haze study compares government with non-government respondents; another grouping in
    ``analysis.invariance_group`` gets its own groups' names, never the haze study's.
    """
    names = [_group_label(group, v, cb) for v in values]
    if not names:
        return f"Measurement invariance across groups of {group}"
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if group == "government":  # the labels are adjectives: government, non-government
        return f"Measurement invariance across {listed} respondents"
    return f"Measurement invariance across groups of {group}: {listed}"


def _layout(paths: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Predictors on the left, outcomes on the right, mediators between, by path depth.

    A level with one member sits in the middle, except a mediator, which goes where it is
    farthest from the other paths crossing its column, so that no arrow runs through its box.
    """
    nodes = sorted({n for pair in paths for n in pair})
    depth = dict.fromkeys(nodes, 0)
    for _ in nodes:
        for outcome, predictor in paths:
            depth[outcome] = max(depth[outcome], depth[predictor] + 1)
    levels = max(depth.values()) or 1
    positions: dict[str, tuple[float, float]] = {}
    order = [0, levels, *range(1, levels)]  # the ends first: mediators avoid their paths
    for level in order:
        members = [n for n in nodes if depth[n] == level]
        x = level / levels
        for i, name in enumerate(members):
            if 0 < level < levels and len(members) == 1:
                positions[name] = (x, _clear_height(x, name, paths, positions))
            else:
                y = 0.5 if len(members) == 1 else 1 - i / (len(members) - 1)
                positions[name] = (x, y)
    return positions


def _clear_height(
    x: float, name: str, paths: list[tuple[str, str]], placed: dict[str, tuple[float, float]]
) -> float:
    """The height at ``x`` farthest from where the placed paths not touching ``name`` cross
    (of equally clear heights, the one nearest the middle, then the higher)."""
    crossings = []
    for outcome, predictor in paths:
        if name in (outcome, predictor) or outcome not in placed or predictor not in placed:
            continue
        (x0, y0), (x1, y1) = placed[predictor], placed[outcome]
        if min(x0, x1) < x < max(x0, x1):
            crossings.append(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    if not crossings:
        return 0.5
    grid = np.linspace(0.0, 1.0, 101)
    clearance = np.min(np.abs(grid[:, None] - np.array(crossings)[None, :]), axis=1)
    best = clearance.max()
    candidates = grid[np.isclose(clearance, best)]
    return float(min(candidates, key=lambda y: (abs(y - 0.5), -y)))  # nearer the middle, then up


def run_path_model(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    seed: int,
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    variables_out: str | Path,
    figure_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """The structural model of the grid-governance argument, with bootstrap indirect effects."""
    from hazegov.analysis.sample import measurement_model
    from hazegov.analysis.sem import fit_path_model
    from hazegov.paper.figures import path_diagram

    frame, cb, synthetic = _load(sample, codebook)
    paths = [tuple(p) for p in settings["paths"]]
    constructs = {c for pair in paths for c in pair}
    model = {c: items for c, items in measurement_model(cb).items() if c in constructs}
    result = fit_path_model(
        frame,
        model,
        paths,
        indirect=[tuple(c) for c in settings["indirect"]],
        n_boot=int(settings["n_boot"]),
        seed=seed,
    )
    frames = result.to_frames()
    _write_frames(_published_fit(frames, min_cell_count), tables)
    write_json(
        {"data_source": data_label(synthetic), "warnings": list(result.warnings)},
        summary_out,
    )
    fit = frames["fit"].iloc[0]
    variables: dict[str, Any] = {
        "fit": _fit_variables(fit, min_cell_count),
        "paths": {},
        "indirect": [],
    }
    for row in frames["path_coefficients"].itertuples(index=False):
        variables["paths"][f"{row.predictor}_{row.outcome}"] = {
            "std": num(row.std_estimate),
            "p": fmt_p_op(row.p_value),
        }
    for row in frames["indirect_effects"].itertuples(index=False):
        variables["indirect"].append(
            {
                "chain": row.chain,
                "std": num(row.std_estimate),
                "std_ci": fmt_ci(row.std_ci_lower, row.std_ci_upper),
                "excludes_zero": bool(row.std_ci_lower > 0 or row.std_ci_upper < 0),
                "n_boot_ok": int(row.n_boot_ok),
            }
        )
    first = variables["indirect"][0] if variables["indirect"] else None
    if first:
        variables["first_indirect"] = first | {
            "verdict": "excludes zero" if first["excludes_zero"] else "includes zero"
        }
    variables["n_boot"] = int(settings["n_boot"])
    write_variables({"sem": variables}, variables_out, rule="path_model")
    path_diagram(frames["path_coefficients"], _layout(paths), figure_out, synthetic=synthetic)


def run_analysis_sample(
    analysis: str | Path,
    codebook: str | Path,
    missing_data: dict[str, Any],
    sample_out: str | Path,
    report_out: str | Path,
    controls: list[str],
) -> None:
    """Apply the configured missing-data rule once; every analysis reads this sample.

    `controls` are the answers every analysed respondent must have besides the scale items and
    the rating (config ``analysis.missing_data.required``, by default the regression's
    controls), so that every analysis is of the same respondents.
    """
    from hazegov.analysis.sample import build_analysis_sample

    provenance = read_provenance(analysis)
    sample = build_analysis_sample(
        pd.read_parquet(analysis),
        load_codebook(codebook),
        missing_data["rule"],
        controls=controls,
        min_items_answered=int(missing_data["min_items_answered"]),
    )
    log.info(
        "missing-data rule %s: %d of %d respondents kept, %d cells imputed",
        sample.report["rule"],
        sample.report["n_after"],
        sample.report["n_before"],
        sample.report["cells_imputed"],
    )
    write_parquet(sample.frame, sample_out, provenance)
    write_json(sample.report | {"data_source": source_label(provenance)}, report_out)
