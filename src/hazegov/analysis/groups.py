"""Compare construct scores across respondent groups (e.g. sectors).

Construct scores are means of 5-point Likert items, so group variances differ and the scores are
bounded and tied. Hence both sides are reported: Welch's ANOVA with Games-Howell pairs (unequal
variances) and Kruskal-Wallis with Mann-Whitney pairs (ranks). `one_way_anova` offers the
classical equal-variance F test with eta squared beside them, for comparison with studies that
report it.

Choices, stated once:

- Groups with fewer than `MIN_GROUP_SIZE` (2) cases are *excluded with a result warning*: a single
  case has no variance, so Welch's weights and Games-Howell are undefined for it. A group with two
  or more cases and zero variance raises `AnalysisError` (Welch's weights n/s² are infinite).
- omega² is the standard one-way formula from the ordinary ANOVA sums of squares (Hays 1963):
  ω² = (SS_between − (k − 1)·MS_within) / (SS_total + MS_within). Welch's F has no ω² of its own;
  this is the effect size reported beside it. It is not truncated at 0.
- epsilon² for Kruskal-Wallis is ε² = H / ((n² − 1)/(n + 1)) = H / (n − 1) (Tomczak & Tomczak
  2014), with H corrected for ties as scipy and pingouin do.
- Both effect sizes get a percentile bootstrap CI, resampling cases with replacement *within*
  each group (group sizes fixed), from `numpy.random.default_rng(seed)`: deterministic.
- Pairwise comparisons: Games-Howell (pingouin; its p is already family-wise, from the
  studentized range; below 1e-8 scipy's tail is unreliable, so such p carry a warning), Welch
  t-tests and, on the rank side, Mann-Whitney U tests (pingouin; not Dunn's test, which no kept
  library offers), each with `p_adjust` (Holm by default) across the pairs of one outcome,
  separately for each method.
- `compare_constructs` keeps those pairwise families (pairs within one construct and method) and
  adds `p_adj` to the omnibus tests, adjusted across the constructs compared, per test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from hazegov.analysis._common import AnalysisError, captured_warnings, numeric_items

MIN_GROUP_SIZE = 2
DEFAULT_N_BOOT = 2000
DEFAULT_SEED = 20240601
P_ADJUST_METHODS = ("holm", "bonf", "sidak", "fdr_bh", "fdr_by", "none")
GH_P_FLOOR = 1e-8  # below this scipy's studentized-range survival function is not reliable


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN becomes None, numpy scalars become Python ones."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in cleaned.to_dict(orient="records")
    ]


class _ComparisonFrames:
    """The three tidy frames of a comparison: descriptives, omnibus tests and pairs."""

    descriptives: pd.DataFrame
    omnibus: pd.DataFrame
    pairwise: pd.DataFrame

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {
            "descriptives": self.descriptives,
            "omnibus": self.omnibus,
            "pairwise": self.pairwise,
        }

    def _frame_records(self) -> dict[str, list[dict[str, object]]]:
        return {name: _records(frame) for name, frame in self.to_frames().items()}


@dataclass(frozen=True)
class GroupComparison(_ComparisonFrames):
    """One construct score compared across the groups of one column."""

    outcome: str
    group: str
    descriptives: pd.DataFrame  # one row per analysed group
    omnibus: pd.DataFrame  # welch_anova and kruskal_wallis, each with its effect size and CI
    pairwise: pd.DataFrame  # games_howell, welch_t and mann_whitney rows, one per pair
    n: int
    n_missing: int
    excluded_groups: tuple[object, ...]
    settings: dict[str, object]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "group": self.group,
            "n": self.n,
            "n_missing": self.n_missing,
            "excluded_groups": list(self.excluded_groups),
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
            **self._frame_records(),
        }


@dataclass(frozen=True)
class ConstructComparisons(_ComparisonFrames):
    """Several construct scores compared across the same groups, as long tidy frames."""

    group: str
    descriptives: pd.DataFrame
    omnibus: pd.DataFrame  # adds p_adj: adjusted across constructs, within each test
    pairwise: pd.DataFrame  # p_adj: adjusted across pairs, within each construct and method
    comparisons: tuple[GroupComparison, ...]
    settings: dict[str, object]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
            **self._frame_records(),
        }


def _group_order(labels: pd.Series) -> list[object]:
    """Categorical order when the column has one, else sorted labels: reproducible output."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        present = set(labels.dropna().unique())
        return [c for c in labels.cat.categories if c in present]
    uniques = list(labels.dropna().unique())
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)


def omega_squared(values: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """One-way ω² for each row of `values` (groups in consecutive blocks of `sizes`).

    Rows are bootstrap replicates; a single sample is one row. NaN where the data are constant.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    n_total = values.shape[1]
    k = len(sizes)
    grand = values.mean(axis=1)
    ss_between = np.zeros(values.shape[0])
    ss_within = np.zeros(values.shape[0])
    start = 0
    for size in sizes:
        block = values[:, start : start + size]
        means = block.mean(axis=1)
        ss_between += size * (means - grand) ** 2
        ss_within += ((block - means[:, None]) ** 2).sum(axis=1)
        start += size
    ms_within = ss_within / (n_total - k)
    denominator = ss_between + ss_within + ms_within
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ss_between - (k - 1) * ms_within) / denominator
    return np.where(denominator > 0, out, np.nan)


def kruskal_h(values: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Tie-corrected Kruskal-Wallis H for each row of `values` (groups in consecutive blocks).

    Vectorised over bootstrap replicates: midranks come from counts of each distinct value, which
    is exact for the tied scores of Likert means. NaN where all values in a row are equal.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    n_rep, n_total = values.shape
    uniques, codes = np.unique(values, return_inverse=True)
    codes = codes.reshape(values.shape)
    n_unique = uniques.size
    offsets = (np.arange(n_rep) * n_unique)[:, None]
    counts = np.bincount((codes + offsets).ravel(), minlength=n_rep * n_unique)
    counts = counts.reshape(n_rep, n_unique).astype(float)
    midranks = counts.cumsum(axis=1) - (counts - 1) / 2
    ranks = np.take_along_axis(midranks, codes, axis=1)
    rank_term = np.zeros(n_rep)
    start = 0
    for size in sizes:
        rank_term += ranks[:, start : start + size].sum(axis=1) ** 2 / size
        start += size
    h_raw = 12 / (n_total * (n_total + 1)) * rank_term - 3 * (n_total + 1)
    tie_factor = 1 - (counts**3 - counts).sum(axis=1) / (n_total**3 - n_total)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = h_raw / tie_factor
    return np.where(tie_factor > 0, h, np.nan)


def epsilon_squared(h: np.ndarray | float, n_total: int) -> np.ndarray:
    """ε² = H / ((n² − 1)/(n + 1)) (Tomczak & Tomczak 2014)."""
    return np.asarray(h, dtype=float) / ((n_total**2 - 1) / (n_total + 1))


def _resampled_counts(
    code_blocks: Sequence[np.ndarray], n_boot: int, n_values: int, rng: np.random.Generator
) -> np.ndarray:
    """Counts (replicate, group, distinct value) of n_boot resamples drawn with replacement
    within every group, group sizes kept.

    The draws are those of resampling the respondents themselves (the same calls on `rng`);
    only their counts per distinct score are kept, which is all ω² and H depend on, so the
    statistics cost the number of distinct scores per replicate, not the number of respondents.
    """
    offsets = (np.arange(n_boot) * n_values)[:, None]
    counts = []
    for codes in code_blocks:
        drawn = codes[rng.integers(0, codes.size, size=(n_boot, codes.size))]
        counts.append(
            np.bincount((drawn + offsets).ravel(), minlength=n_boot * n_values).reshape(
                n_boot, n_values
            )
        )
    return np.stack(counts, axis=1).astype(float)


def omega_squared_from_counts(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`omega_squared` of samples given as counts (replicate, group, distinct value) of the
    distinct `values`."""
    sizes = counts.sum(axis=2)
    n_total = sizes.sum(axis=1)
    k = counts.shape[1]
    sums = counts @ values
    means = sums / sizes
    grand = sums.sum(axis=1) / n_total
    ss_between = (sizes * (means - grand[:, None]) ** 2).sum(axis=1)
    ss_within = (counts * (values[None, None, :] - means[:, :, None]) ** 2).sum(axis=(1, 2))
    ms_within = ss_within / (n_total - k)
    denominator = ss_between + ss_within + ms_within
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ss_between - (k - 1) * ms_within) / denominator
    return np.where(denominator > 0, out, np.nan)


def kruskal_h_from_counts(counts: np.ndarray) -> np.ndarray:
    """`kruskal_h` of samples given as counts (replicate, group, distinct value in ascending
    order): midranks from the pooled counts of each value."""
    sizes = counts.sum(axis=2)
    n_total = sizes.sum(axis=1)
    pooled = counts.sum(axis=1)
    midranks = pooled.cumsum(axis=1) - (pooled - 1) / 2
    rank_sums = (counts * midranks[:, None, :]).sum(axis=2)
    rank_term = (rank_sums**2 / sizes).sum(axis=1)
    h_raw = 12 / (n_total * (n_total + 1)) * rank_term - 3 * (n_total + 1)
    tie_factor = 1 - (pooled**3 - pooled).sum(axis=1) / (n_total**3 - n_total)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = h_raw / tie_factor
    return np.where(tie_factor > 0, h, np.nan)


def _mann_whitney_pairs(
    blocks: Sequence[np.ndarray], order: list[object], p_adjust: str
) -> pd.DataFrame:
    """Mann-Whitney U for every pair with scipy, as pingouin's pairwise_tests reports it.

    pingouin's version also computes the common-language effect size from all n_a x n_b
    differences, which needs gigabytes at large N; the U test itself does not.
    """
    rows = []
    for i, a in enumerate(order):
        for j in range(i + 1, len(order)):
            result = stats.mannwhitneyu(
                blocks[i], blocks[j], use_continuity=True, alternative="two-sided"
            )
            rows.append(
                {
                    "A": a,
                    "B": order[j],
                    "U_val": float(result.statistic),
                    "p_unc": float(result.pvalue),
                }
            )
    table = pd.DataFrame(rows)
    if p_adjust != "none" and len(table) > 1:
        table["p_corr"] = pg.multicomp(table["p_unc"].to_numpy(), method=p_adjust)[1]
    return table


MAX_BOOTSTRAP_CELLS = 4_000_000  # resampled values held at once: bounds memory at large N


def _bootstrap_effect_sizes(
    blocks: Sequence[np.ndarray],
    sizes: Sequence[int],
    n_boot: int,
    n_total: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap omega and epsilon squared in chunks of replicates, so memory stays bounded.

    At the study's size all replicates fit in one chunk; at very large N they are drawn a few
    at a time (the draws then come in a different order, still fixed by the seed). Each
    replicate is kept as counts of the distinct scores (`_resampled_counts`).
    """
    values, codes = np.unique(np.concatenate(blocks), return_inverse=True)
    code_blocks = np.split(codes.ravel(), np.cumsum(sizes)[:-1])
    chunk = max(1, MAX_BOOTSTRAP_CELLS // max(1, n_total))
    omegas, epsilons = [], []
    for start in range(0, n_boot, chunk):
        counts = _resampled_counts(code_blocks, min(chunk, n_boot - start), values.size, rng)
        omegas.append(omega_squared_from_counts(counts, values))
        epsilons.append(epsilon_squared(kruskal_h_from_counts(counts), n_total))
    return np.concatenate(omegas), np.concatenate(epsilons)


def _percentile_ci(
    replicates: np.ndarray, ci: float, *, what: str, sink: list[str]
) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    dropped = replicates.size - finite.size
    if dropped:
        sink.append(
            f"{what}: {dropped} of {replicates.size} bootstrap replicates were degenerate "
            "(constant resample) and are left out of the CI"
        )
    if finite.size < 2:
        return math.nan, math.nan
    low, high = np.quantile(finite, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return float(low), float(high)


def _validate_settings(n_boot: int, ci: float, p_adjust: str) -> None:
    if not 0 < ci < 1:
        raise AnalysisError(f"ci must lie strictly between 0 and 1, got {ci}")
    if n_boot < 1:
        raise AnalysisError(f"n_boot must be at least 1, got {n_boot}")
    if p_adjust not in P_ADJUST_METHODS:
        raise AnalysisError(f"p_adjust must be one of {P_ADJUST_METHODS}, got {p_adjust!r}")


def _pair_rows(
    table: pd.DataFrame, order: list[object], sizes: dict[object, int], *, stat: str
) -> dict[tuple[object, object], pd.Series]:
    """Index pingouin's pair rows by (earlier, later) group in our order, turning reversed ones.

    A reversed pair's t changes sign and its U becomes n_a·n_b − U.
    """
    position = {g: i for i, g in enumerate(order)}
    out: dict[tuple[object, object], pd.Series] = {}
    for _, row in table.iterrows():
        a, b = row["A"], row["B"]
        row = row.copy()
        if position[a] > position[b]:
            a, b = b, a
            if stat == "U_val":
                row[stat] = sizes[a] * sizes[b] - row[stat]
            else:
                row[stat] = -row[stat]
                if "hedges" in row:
                    row["hedges"] = -row["hedges"]
        out[(a, b)] = row
    return out


def _scores_by_group(
    frame: pd.DataFrame, outcome: str, group: str, what: str
) -> tuple[pd.DataFrame, int]:
    """The outcome's scores with each respondent's group (columns ``score`` and ``group``),
    complete cases only, and how many respondents lacked one or the other."""
    if group not in frame.columns:
        raise AnalysisError(f"{what}: column not in the data: {group!r}")
    if group == outcome:
        raise AnalysisError(f"{what}: the outcome cannot also be the group")
    scores = numeric_items(frame, [outcome], what=what)[outcome]
    data = pd.DataFrame({"score": scores, "group": frame[group]})
    n_missing = int(data.isna().any(axis=1).sum())
    return data.dropna(), n_missing


def compare_groups(
    frame: pd.DataFrame,
    outcome: str,
    group: str,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    ci: float = 0.95,
    p_adjust: str = "holm",
) -> GroupComparison:
    """Compare one construct score across groups: descriptives, omnibus tests, effect sizes, pairs.

    Welch's ANOVA with ω² and Games-Howell pairs for the means, Kruskal-Wallis with ε² and
    Mann-Whitney pairs for the ranks (see the module docstring for the choices). Rows missing
    the outcome or the group are dropped (counted in `n_missing`).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    outcome : str
        The numeric score column (e.g. a construct score).
    group : str
        The column of group labels (e.g. the respondent sector).
    n_boot : int, default DEFAULT_N_BOOT
        Bootstrap resamples for the effect-size intervals.
    seed : int, default DEFAULT_SEED
        Seed of the bootstrap.
    ci : float, default 0.95
        The level of the effect-size intervals.
    p_adjust : str, default "holm"
        The adjustment of the pairwise p-values, one of P_ADJUST_METHODS.

    Returns
    -------
    GroupComparison
        ``descriptives``, ``omnibus`` (Welch and Kruskal-Wallis rows with effect sizes and CIs),
        ``pairwise``, ``n``, ``n_missing``, ``excluded_groups``, ``settings`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On unknown columns, fewer than 2 groups of 2 or more cases, a constant outcome, zero
        variance within a group, or settings out of range (`n_boot` < 1, `ci` outside (0, 1),
        an unknown `p_adjust`).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> result = compare_groups(hs, "x1", "school", n_boot=200)
    >>> result.omnibus[["test", "p"]].round(2).values.tolist()
    [['welch_anova', 0.93], ['kruskal_wallis', 0.94]]
    """
    _validate_settings(n_boot, ci, p_adjust)
    what = f"compare_groups({outcome!r} by {group!r})"
    data, n_missing = _scores_by_group(frame, outcome, group, what)
    notes: list[str] = []
    order, excluded, blocks = _analysed_groups(data, what, notes)
    data = pd.DataFrame(
        {
            "score": np.concatenate(blocks),
            "group": pd.Categorical(
                np.repeat(np.array(order, dtype=object), [b.size for b in blocks]),
                categories=order,
            ),
        }
    )
    n_total = len(data)
    group_sizes = [b.size for b in blocks]

    descriptives = pd.DataFrame(
        {
            "outcome": outcome,
            "group": order,
            "n": group_sizes,
            "mean": [b.mean() for b in blocks],
            "sd": [b.std(ddof=1) for b in blocks],
            "median": [float(np.median(b)) for b in blocks],
        }
    )
    with captured_warnings(notes):
        welch, kw, gh, wt, mw = _group_tests(data, blocks, order, p_adjust)

    # Effect sizes and their stratified percentile bootstrap CIs.
    observed = np.concatenate(blocks)[None, :]
    omega = float(omega_squared(observed, group_sizes)[0])
    epsilon = float(epsilon_squared(float(kw["H"]), n_total))
    rng = np.random.default_rng(seed)
    omega_boot, epsilon_boot = _bootstrap_effect_sizes(blocks, group_sizes, n_boot, n_total, rng)
    omega_ci = _percentile_ci(omega_boot, ci, what=f"{what}: omega_squared", sink=notes)
    epsilon_ci = _percentile_ci(epsilon_boot, ci, what=f"{what}: epsilon_squared", sink=notes)
    omnibus = _omnibus_frame(
        outcome, welch, kw, (omega, *omega_ci), (epsilon, *epsilon_ci), len(order), n_total
    )
    omnibus["ci_level"] = ci
    omnibus["n_boot"] = n_boot
    omnibus["ci_method"] = "percentile bootstrap, stratified by group"

    pairwise = _pairwise_frame(outcome, order, descriptives, gh, wt, mw, p_adjust)
    tiny = pairwise[(pairwise["method"] == "games_howell") & (pairwise["p_adj"] < GH_P_FLOOR)]
    if len(tiny):
        notes.append(
            f"{what}: {len(tiny)} Games-Howell p-value(s) below {GH_P_FLOOR:g}, where scipy's "
            "studentized-range tail is inaccurate (it may return 0); report them as "
            f"p < {GH_P_FLOOR:g}"
        )
    return GroupComparison(
        outcome=outcome,
        group=group,
        descriptives=descriptives,
        omnibus=omnibus,
        pairwise=pairwise,
        n=n_total,
        n_missing=n_missing,
        excluded_groups=excluded,
        settings={"n_boot": n_boot, "seed": seed, "ci": ci, "p_adjust": p_adjust},
        warnings=tuple(notes),
    )


def _group_tests(
    data: pd.DataFrame, blocks: list[np.ndarray], order: list[object], p_adjust: str
) -> tuple[pd.Series, pd.Series, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Welch's ANOVA and Kruskal-Wallis rows; Games-Howell, Welch t and Mann-Whitney pairs."""
    welch = pg.welch_anova(data=data, dv="score", between="group").iloc[0]
    kw = pg.kruskal(data=data, dv="score", between="group").iloc[0]
    gh = pg.pairwise_gameshowell(data=data, dv="score", between="group")
    wt = pg.pairwise_tests(
        data=data,
        dv="score",
        between="group",
        parametric=True,
        correction=True,
        padjust=p_adjust,
        effsize="hedges",
    )
    mw = _mann_whitney_pairs(blocks, order, p_adjust)
    return welch, kw, gh, wt, mw


def _analysed_groups(
    data: pd.DataFrame, what: str, notes: list[str]
) -> tuple[list[object], tuple[object, ...], list[np.ndarray]]:
    """The groups large enough to compare, those excluded, and each group's scores.

    Raises when fewer than two groups remain, or the outcome is constant overall or in a group.
    """
    order = _group_order(data["group"])
    sizes = data["group"].value_counts()
    excluded = tuple(g for g in order if sizes.get(g, 0) < MIN_GROUP_SIZE)
    for g in excluded:
        notes.append(
            f"{what}: group {g!r} has {int(sizes.get(g, 0))} case(s), fewer than "
            f"{MIN_GROUP_SIZE}; excluded from the comparison"
        )
    order = [g for g in order if g not in excluded]
    data = data[data["group"].isin(order)]
    if len(order) < 2:
        raise AnalysisError(
            f"{what}: {len(order)} group(s) with at least {MIN_GROUP_SIZE} cases; 2 needed"
        )
    if not np.var(data["score"].to_numpy()) > 0:
        raise AnalysisError(f"{what}: the outcome is constant")
    blocks = [data.loc[data["group"] == g, "score"].to_numpy(dtype=float) for g in order]
    flat = [g for g, block in zip(order, blocks, strict=True) if not np.var(block) > 0]
    if flat:
        raise AnalysisError(
            f"{what}: zero variance within group(s) {flat}: Welch's ANOVA and Games-Howell "
            "weight groups by n/s² and are undefined"
        )
    return order, excluded, blocks


def _omnibus_frame(
    outcome: str,
    welch: pd.Series,
    kw: pd.Series,
    omega: tuple[float, float, float],
    epsilon: tuple[float, float, float],
    k_groups: int,
    n_total: int,
) -> pd.DataFrame:
    """The Welch ANOVA and Kruskal-Wallis rows, each with its effect size (value, CI low, high)."""
    omnibus = pd.DataFrame(
        [
            {
                "outcome": outcome,
                "test": "welch_anova",
                "statistic_name": "F",
                "statistic": float(welch["F"]),
                "df1": float(welch["ddof1"]),
                "df2": float(welch["ddof2"]),
                "p": float(welch["p_unc"]),
                "effect_size_name": "omega_squared",
                "effect_size": omega[0],
                "ci_low": omega[1],
                "ci_high": omega[2],
            },
            {
                "outcome": outcome,
                "test": "kruskal_wallis",
                "statistic_name": "H",
                "statistic": float(kw["H"]),
                "df1": float(kw["ddof1"]),
                "df2": math.nan,
                "p": float(kw["p_unc"]),
                "effect_size_name": "epsilon_squared",
                "effect_size": epsilon[0],
                "ci_low": epsilon[1],
                "ci_high": epsilon[2],
            },
        ]
    )
    omnibus.insert(2, "n", n_total)
    omnibus.insert(3, "k_groups", k_groups)
    return omnibus


def _pairwise_frame(
    outcome: str,
    order: list[object],
    descriptives: pd.DataFrame,
    gh: pd.DataFrame,
    wt: pd.DataFrame,
    mw: pd.DataFrame,
    p_adjust: str,
) -> pd.DataFrame:
    """One long frame: each pair under Games-Howell, Welch t and Mann-Whitney U."""
    means = dict(zip(descriptives["group"], descriptives["mean"], strict=True))
    sizes = dict(zip(descriptives["group"], descriptives["n"], strict=True))
    gh_rows = _pair_rows(gh, order, sizes, stat="T")
    wt_rows = _pair_rows(wt, order, sizes, stat="T")
    mw_rows = _pair_rows(mw, order, sizes, stat="U_val")
    rows: list[dict[str, object]] = []
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    for method in ("games_howell", "welch_t", "mann_whitney"):
        for a, b in pairs:
            diff = means[a] - means[b]
            row: dict[str, object] = {
                "outcome": outcome,
                "method": method,
                "group_a": a,
                "group_b": b,
                "mean_a": means[a],
                "mean_b": means[b],
                "diff": diff,
            }
            if method == "games_howell":
                r = gh_rows[(a, b)]
                row |= {
                    "se": float(r["se"]),
                    "statistic_name": "t",
                    "statistic": float(r["T"]),
                    "df": float(r["df"]),
                    "p_unc": math.nan,
                    "p_adj": float(r["pval"]),
                    "p_adjust": "studentized_range",
                    "hedges_g": float(r["hedges"]),
                }
            elif method == "welch_t":
                r = wt_rows[(a, b)]
                t = float(r["T"])
                row |= {
                    "se": diff / t if t != 0 else math.nan,
                    "statistic_name": "t",
                    "statistic": t,
                    "df": float(r["dof"]),
                    "p_unc": float(r["p_unc"]),
                    "p_adj": float(r["p_corr"]) if "p_corr" in r else float(r["p_unc"]),
                    "p_adjust": p_adjust,
                    "hedges_g": float(r["hedges"]),
                }
            else:
                r = mw_rows[(a, b)]
                row |= {
                    "se": math.nan,
                    "statistic_name": "U",
                    "statistic": float(r["U_val"]),
                    "df": math.nan,
                    "p_unc": float(r["p_unc"]),
                    "p_adj": float(r["p_corr"]) if "p_corr" in r else float(r["p_unc"]),
                    "p_adjust": p_adjust,
                    "hedges_g": math.nan,
                }
            rows.append(row)
    return pd.DataFrame(rows)


def compare_constructs(
    frame: pd.DataFrame,
    outcomes: Sequence[str],
    group: str,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    ci: float = 0.95,
    p_adjust: str = "holm",
) -> ConstructComparisons:
    """`compare_groups` for each construct score, stacked into long frames.

    Families for `p_adjust`: the omnibus p of each test across the constructs (column `p_adj`);
    pairwise p across the pairs within one construct and method, as in `compare_groups`. Each
    construct uses the same seed, so results do not depend on the order of `outcomes`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    outcomes : sequence of str
        The score columns, each once.
    group : str
        The column of group labels.
    n_boot, seed, ci, p_adjust
        As in `compare_groups`.

    Returns
    -------
    ConstructComparisons
        Long ``descriptives``, ``omnibus`` (with ``p_adj``) and ``pairwise`` frames, the single
        comparisons, ``settings`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On no or repeated outcomes, or as `compare_groups`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> result = compare_constructs(hs, ["x1", "x4"], "school", n_boot=200)
    >>> welch = result.omnibus[result.omnibus["test"] == "welch_anova"]
    >>> welch[["outcome", "p", "p_adj"]].round(3).values.tolist()
    [['x1', 0.933, 0.933], ['x4', 0.0, 0.0]]
    """
    _validate_settings(n_boot, ci, p_adjust)
    outcomes = list(outcomes)
    if not outcomes:
        raise AnalysisError("compare_constructs: no outcomes given")
    if len(set(outcomes)) != len(outcomes):
        raise AnalysisError(f"compare_constructs: repeated outcomes in {outcomes}")
    results = tuple(
        compare_groups(frame, o, group, n_boot=n_boot, seed=seed, ci=ci, p_adjust=p_adjust)
        for o in outcomes
    )
    omnibus = pd.concat([r.omnibus for r in results], ignore_index=True)
    omnibus["p_adj"] = math.nan
    for rows in omnibus.groupby("test", sort=False).groups.values():
        if p_adjust == "none":
            omnibus.loc[rows, "p_adj"] = omnibus.loc[rows, "p"]
        else:
            _, adjusted = pg.multicomp(omnibus.loc[rows, "p"].to_numpy(), method=p_adjust)
            omnibus.loc[rows, "p_adj"] = adjusted
    omnibus["p_adjust"] = p_adjust
    return ConstructComparisons(
        group=group,
        descriptives=pd.concat([r.descriptives for r in results], ignore_index=True),
        omnibus=omnibus,
        pairwise=pd.concat([r.pairwise for r in results], ignore_index=True),
        comparisons=results,
        settings={"n_boot": n_boot, "seed": seed, "ci": ci, "p_adjust": p_adjust},
        warnings=tuple(w for r in results for w in r.warnings),
    )


def one_way_anova(frame: pd.DataFrame, outcome: str, group: str) -> dict[str, object]:
    """Classical (Fisher) one-way ANOVA of one construct score across groups, with eta squared.

    Beside Welch's ANOVA in `compare_groups`, for readers and reviewers who expect the
    equal-variance F test and η² (the share of the score's variance lying between groups).
    F = MS_between / MS_within on k − 1 and n − k degrees of freedom; η² = SS_between /
    SS_total, which overstates the population share in small samples (ω² in `compare_groups`
    corrects for that). Welch's test remains the one to read when group variances differ.
    Rows missing the outcome or the group are dropped (counted in ``n_missing``); every group
    with at least one case takes part.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    outcome : str
        The numeric score column (e.g. a construct score).
    group : str
        The column of group labels (e.g. the respondent sector).

    Returns
    -------
    dict
        ``outcome``, ``group``, ``n``, ``n_missing``, ``k_groups``, ``F``, ``df1``, ``df2``,
        ``p``, ``ss_between``, ``ss_within`` and ``eta_squared``.

    Raises
    ------
    AnalysisError
        On an unknown or non-numeric column, fewer than 2 groups, no residual degrees of
        freedom (n ≤ k), or no variance within the groups (F undefined).

    Examples
    --------
    >>> import pingouin as pg
    >>> pain = pg.read_dataset("anova")
    >>> result = one_way_anova(pain, "Pain threshold", "Hair color")
    >>> round(result["F"], 3), result["df1"], result["df2"], round(result["eta_squared"], 3)
    (6.791, 3, 15, 0.576)
    """
    what = f"one_way_anova({outcome!r} by {group!r})"
    data, n_missing = _scores_by_group(frame, outcome, group, what)
    order = _group_order(data["group"])
    if len(order) < 2:
        raise AnalysisError(f"{what}: {len(order)} group(s) with data; 2 needed")
    blocks = [data.loc[data["group"] == g, "score"].to_numpy(dtype=float) for g in order]
    n_total, k = len(data), len(blocks)
    if n_total <= k:
        raise AnalysisError(f"{what}: {n_total} cases in {k} groups leave no residual df")
    grand = data["score"].to_numpy(dtype=float).mean()
    ss_between = float(sum(b.size * (b.mean() - grand) ** 2 for b in blocks))
    ss_within = float(sum(((b - b.mean()) ** 2).sum() for b in blocks))
    if not ss_within > 0:
        raise AnalysisError(f"{what}: no variance within the groups; F is undefined")
    df1, df2 = k - 1, n_total - k
    f_value = (ss_between / df1) / (ss_within / df2)
    return {
        "outcome": outcome,
        "group": group,
        "n": n_total,
        "n_missing": n_missing,
        "k_groups": k,
        "F": float(f_value),
        "df1": df1,
        "df2": df2,
        "p": float(stats.f.sf(f_value, df1, df2)),
        "ss_between": ss_between,
        "ss_within": ss_within,
        "eta_squared": ss_between / (ss_between + ss_within),
    }


def published_frames(frames: Mapping[str, pd.DataFrame], min_count: int) -> dict[str, pd.DataFrame]:
    """The `to_frames()` of a comparison as published: small groups suppressed.

    Per outcome, a group count below `min_count` is shown as "<m", with complementary
    suppression against the outcome's total n (published in `omnibus`); the mean, SD and
    median of such a group are withheld ("x"), and so are the means, difference, SE, test
    statistic and Hedges' g of every pair it is part of (its p-values stay). Frames without a
    small group are returned unchanged.
    """
    from hazegov.privacy.disclosure import WITHHELD, suppress, suppress_columns

    descriptives = frames["descriptives"].copy()
    small: set[tuple[object, object]] = set()
    changed = False
    for _, block in descriptives.groupby("outcome", sort=False):
        cells = suppress(block["n"].astype(int).tolist(), min_count, [range(len(block))])
        if not cells.any_hidden:
            continue
        if not changed:
            descriptives = descriptives.astype({c: object for c in ("n", "mean", "sd", "median")})
            changed = True
        descriptives.loc[block.index, "n"] = cells.display_values()
        for column in ("mean", "sd", "median"):
            descriptives.loc[block.index, column] = cells.withhold(
                block[column].tolist(), when="primary"
            )
        small |= {
            (o, g)
            for o, g, p in zip(block["outcome"], block["group"], cells.primary, strict=True)
            if p
        }
    omnibus = suppress_columns(frames["omnibus"], ["n"], min_count)
    pairwise = frames["pairwise"]
    if small:
        pairwise = pairwise.copy()
        a_small = [
            (o, g) in small for o, g in zip(pairwise["outcome"], pairwise["group_a"], strict=True)
        ]
        b_small = [
            (o, g) in small for o, g in zip(pairwise["outcome"], pairwise["group_b"], strict=True)
        ]
        either = pd.Series(a_small, index=pairwise.index) | pd.Series(b_small, index=pairwise.index)
        columns = ["mean_a", "mean_b", "diff", "se", "statistic", "hedges_g"]
        pairwise = pairwise.astype({c: object for c in columns})
        pairwise.loc[pd.Series(a_small, index=pairwise.index), "mean_a"] = WITHHELD
        pairwise.loc[pd.Series(b_small, index=pairwise.index), "mean_b"] = WITHHELD
        for column in ("diff", "se", "statistic", "hedges_g"):
            pairwise.loc[either, column] = WITHHELD
    return {
        **frames,
        "descriptives": descriptives if changed else frames["descriptives"],
        "omnibus": omnibus,
        "pairwise": pairwise,
    }
