"""Monte Carlo checks of the survey methods against the generator's stated population model.

Design. Each replication draws a fresh synthetic export of `n` submissions from the population
model, with every defect the generator plants (duplicate submissions, speeders, straight-liners,
attention-check failures, item non-response, paper forms with keying errors), writes it as the
platform would, and sends it through the study's own chain: ingest, the configured exclusion
rules, the configured missing-data rule, mean construct scores, then the key analyses with the
study's settings. Going through the whole chain is slower than drawing clean respondents (about
a tenth of a second of CPU per replication at the study's size, most of it the analyses) but
checks what the paper reports: the estimates after the exclusions and the imputation, at the
sample size those leave.

Key estimates. The four construct coefficients of the OLS regression of the effectiveness score
(HC3 standard errors, t intervals), a control whose population effect is zero by construction
(its rejection rate is the test's type I error rate), the standardized paths of the latent path
model (delta-method standard errors, Wald intervals; p from the unstandardized z test, as the
paper reports it) and its indirect effects (product of standardized paths; Sobel, i.e.
first-order delta-method, standard error). The paper's percentile bootstrap of the indirect
effect is not repeated in the replications: it would cost hundreds of refits each.

Targets ("truth"). An estimator is judged against the value it converges to. Mean scores of
five-point answers carry measurement error and categorization, so the OLS slopes of the scores
are not the structural coefficients of the latent model; the path model, fitted to the whole
sample without sector terms, targets the standardized paths of the pooled population, not the
within-sector structural values. Each target is therefore computed for the estimator itself,
exactly, at the sector shares of an export of each size: the OLS slopes from the population
covariance of the categorized mean scores within sector (`observed_score_regression`, from
bivariate-normal probabilities), the path model by fitting it to the exact population covariance
of the answers (`exact_path_coefficients`), indirect effects as products of paths, the controls'
effects zero. These are targets for complete answers; one large draw with the model's item
non-response and the study's missing-data rule (`large_draw_check`) shows that the imputation
does not move them beyond its own precision. The latent values (`latent_score_regression`, and
the standardized latent paths of the pooled population) are kept beside the targets to show how
far measurement attenuates them.

Seeds. Replication r at size n draws from `numpy.random.SeedSequence([seed, n, r])`, so a
replication's result does not depend on which job ran it or with which others.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from hazegov.analysis._common import AnalysisError
from hazegov.formatting import num, pct
from hazegov.survey.codebook import Codebook
from hazegov.survey.synthetic import (
    PopulationModel,
    construct_mean,
    latent_construct_covariance,
    latent_score_regression,
)

log = logging.getLogger("hazegov")
SCORE = "score_"
REPLICATION_COLUMNS = [
    "n",
    "replication",
    "estimate",
    "value",
    "se",
    "ci_low",
    "ci_high",
    "p",
    "converged",
    "n_analysed",
    "message",
]
TRUTH_COLUMNS = ["n", "estimate", "model", "label", "kind", "truth", "latent", "source"]


# ------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Settings:
    """The study's analysis choices that a replication repeats."""

    outcome: str
    predictors: tuple[str, ...]
    controls: tuple[str, ...]
    categorical: tuple[str, ...]
    paths: tuple[tuple[str, str], ...]
    indirect: tuple[tuple[str, ...], ...]
    missing_rule: str
    min_items_answered: int
    required: tuple[str, ...]
    exclusions: Mapping[str, Any]
    out_of_range: str = "missing"
    confidence: float = 0.95
    null_effects: tuple[str, ...] = ()


def settings_from(settings: Mapping[str, Any] | Settings) -> Settings:
    """Settings from the workflow's mapping: regression, path_model, missing_data, exclusions,
    out_of_range, confidence and null_effects (controls with no effect in the population).

    The population targets and the large-draw check analyse clean respondents, so they are
    given no exclusions (none are applied).
    """
    if isinstance(settings, Settings):
        return settings
    reg = settings["regression"]
    controls = tuple(reg.get("controls", ()))
    required = tuple(settings["missing_data"].get("required", controls))
    nulls = tuple(settings.get("null_effects", ()))
    stray = [t for t in nulls if t not in controls]
    if stray:
        raise ValueError(f"simulation: null effects {stray} are not controls of the regression")
    confidence = float(settings.get("confidence", 0.95))
    if not 0 < confidence < 1:
        raise ValueError("simulation: confidence must lie strictly between 0 and 1")
    return Settings(
        outcome=str(reg["outcome"]),
        predictors=tuple(reg["predictors"]),
        controls=controls,
        categorical=tuple(reg.get("categorical", ())),
        paths=tuple((str(o), str(p)) for o, p in settings["path_model"]["paths"]),
        indirect=tuple(tuple(c) for c in settings["path_model"].get("indirect", ())),
        missing_rule=str(settings["missing_data"]["rule"]),
        min_items_answered=int(settings["missing_data"].get("min_items_answered", 3)),
        required=required,
        exclusions=dict(settings.get("exclusions", {})),
        out_of_range=str(settings.get("out_of_range", "missing")),
        confidence=confidence,
        null_effects=nulls,
    )


@dataclass(frozen=True)
class EstimateSpec:
    id: str
    model: str  # "ols" | "sem"
    label: str
    # "effect" | "no_effect" | "path" | "indirect" ("null" would be read back from CSV as NA)
    kind: str


def estimate_specs(settings: Mapping[str, Any] | Settings) -> list[EstimateSpec]:
    """The key estimates, in table order."""
    s = settings_from(settings)
    specs = [
        EstimateSpec(f"ols.{p}", "ols", f"{p} → {s.outcome} (OLS)", "effect") for p in s.predictors
    ]
    specs += [
        EstimateSpec(f"ols.{t}", "ols", f"{t} → {s.outcome} (OLS, no effect)", "no_effect")
        for t in s.null_effects
    ]
    specs += [
        EstimateSpec(f"sem.{p}_{o}", "sem", f"{p} → {o} (path model)", "path") for o, p in s.paths
    ]
    specs += [
        EstimateSpec(f"sem.{'_'.join(c)}", "sem", f"{' → '.join(c)} (indirect)", "indirect")
        for c in s.indirect
    ]
    return specs


def replication_seed(seed: int, n: int, replication: int) -> int:
    """The seed of one replication: a 128-bit integer from SeedSequence([seed, n, replication])."""
    state = np.random.SeedSequence([int(seed), int(n), int(replication)]).generate_state(4)
    return int.from_bytes(state.astype("<u4").tobytes(), "little")


def _with_seed(model: PopulationModel, seed: int) -> PopulationModel:
    return PopulationModel(model.path, {**model.raw, "seed": seed})


def _single_thread() -> Any:
    """Replications are many small fits: multithreaded BLAS only makes them contend."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


# --------------------------------------------------------------------------------- estimation


def _ols_terms(frame: pd.DataFrame, cb: Codebook, s: Settings) -> dict[str, tuple[float, ...]]:
    """(b, HC3 SE, CI low, CI high, p) of every single-column term of the study's regression.

    The study's design (:func:`hazegov.analysis.regression.build_design`) fitted by the lean
    estimator of the multiverse (:func:`hazegov.robustness.multiverse.ols_hc3_fit`, the same numbers
    as ``ols_hc3`` to rounding): a replication needs the coefficients, not the VIFs and standardized
    betas the paper's table computes.
    """
    from hazegov.robustness.multiverse import build_design, ols_hc3_fit

    reference = {"sector": cb.sectors[0].id} if "sector" in s.categorical else {}
    design = build_design(
        frame,
        SCORE + s.outcome,
        [SCORE + p for p in s.predictors] + list(s.controls),
        list(s.categorical),
        reference,
        what=f"ols_hc3({SCORE + s.outcome!r})",
    )
    fit = ols_hc3_fit(design, s.confidence, what=f"ols_hc3({SCORE + s.outcome!r})")
    columns = list(fit["columns"])
    by_term: dict[str, list[int]] = {}
    for k, column in enumerate(columns):
        by_term.setdefault(column.split("[T.", 1)[0], []).append(k)
    return {
        term: tuple(float(fit[key][ks[0]]) for key in ("b", "se", "ci_low", "ci_high", "p"))
        if len(ks) == 1
        else ()
        for term, ks in by_term.items()
    }


@functools.lru_cache(maxsize=4)
def _structure(model: tuple[tuple[str, tuple[str, ...]], ...], paths: tuple[tuple[str, str], ...]):
    """The path model's structure, built once and fitted to every replication."""
    from hazegov.analysis.ml import MLModel

    return MLModel(dict(model), list(paths))


def _path_model(frame: pd.DataFrame, cb: Codebook, s: Settings) -> Any:
    """The study's latent path model (as :func:`hazegov.analysis.sem.fit_path_model` fits it,
    without the fit indices and tables a replication does not use): its regression rows
    (`hazegov.analysis.ml.RegressionFit`)."""
    from hazegov.analysis.sample import measurement_model

    constructs = {c for pair in s.paths for c in pair}
    spec = tuple((c, tuple(items)) for c, items in measurement_model(cb).items() if c in constructs)
    structure = _structure(spec, tuple(tuple(p) for p in s.paths))
    items = [i for _, group in spec for i in group]
    data = frame[items].astype(float).dropna().reset_index(drop=True)
    return structure.fit_regressions(data, what="path model")


@functools.lru_cache(maxsize=8)
def _normal_quantile(confidence: float) -> float:
    """The Wald interval's z, once per confidence level (`special.ndtri` is the standard normal
    quantile that `scipy.stats.norm.ppf` computes, without importing scipy.stats)."""
    return float(special.ndtri(0.5 + confidence / 2))


def _failed(specs: Iterable[EstimateSpec], message: str) -> list[dict[str, Any]]:
    return [
        {
            "estimate": spec.id,
            "value": math.nan,
            "se": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p": math.nan,
            "converged": False,
            "message": message,
        }
        for spec in specs
    ]


def _row(spec_id: str, value: float, se: float, low: float, high: float, p: float) -> dict:
    ok = all(math.isfinite(v) for v in (value, se, low, high, p))
    return {
        "estimate": spec_id,
        "value": value,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p": p,
        "converged": ok,
        "message": "" if ok else "non-finite estimate or standard error",
    }


def ols_estimates(frame: pd.DataFrame, cb: Codebook, settings: Settings) -> list[dict[str, Any]]:
    """The OLS rows: construct slopes and null-effect controls (b, HC3 SE, t interval, p)."""
    specs = [e for e in estimate_specs(settings) if e.model == "ols"]
    try:
        terms = _ols_terms(frame, cb, settings)
    except (AnalysisError, np.linalg.LinAlgError, ValueError) as exc:
        return _failed(specs, f"OLS failed: {exc}")
    rows = []
    for spec in specs:
        term = spec.id.split(".", 1)[1]
        name = SCORE + term if spec.kind == "effect" else term
        values = terms.get(name, ())
        if len(values) != 5:
            raise ValueError(
                f"simulation: term {term!r} is not one coefficient; a simulated estimate "
                "must be a single coefficient (a numeric term or a two-level categorical one)"
            )
        rows.append(_row(spec.id, *values))
    return rows


def sem_estimates(frame: pd.DataFrame, cb: Codebook, settings: Settings) -> list[dict[str, Any]]:
    """The path-model rows: standardized paths (delta-method SE, Wald interval, p of the
    unstandardized z test) and indirect effects (product of paths, Sobel SE)."""
    specs = [e for e in estimate_specs(settings) if e.model == "sem"]
    try:
        result = _path_model(frame, cb, settings)
    except (AnalysisError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        return _failed(specs, f"path model failed: {exc}")
    z = _normal_quantile(settings.confidence)
    rows = []
    for outcome, predictor in settings.paths:
        r = result.row(outcome, predictor)
        std, se = r["std_estimate"], r["std_se"]
        rows.append(
            _row(
                f"sem.{predictor}_{outcome}",
                std,
                se,
                std - z * se,
                std + z * se,
                r["p_value"],
            )
        )
    for chain in settings.indirect:
        parts = []
        for a, b in itertools.pairwise(chain):
            r = result.row(b, a)
            parts.append((r["std_estimate"], r["std_se"]))
        value = float(np.prod([v for v, _ in parts]))
        # Sobel: first-order delta method, paths taken as independent.
        se = math.sqrt(sum((value / v) ** 2 * s**2 if v != 0 else math.nan for v, s in parts))
        p = float(2 * special.ndtr(-abs(value / se))) if se > 0 else math.nan
        rows.append(_row(f"sem.{'_'.join(chain)}", value, se, value - z * se, value + z * se, p))
    if not result.converged:
        for row in rows:
            row["converged"] = False
            row["message"] = "path model did not converge"
    return rows


def draw_responses(
    model: PopulationModel, cb: Codebook, n: int, seed: int, out_of_range: str, workdir: Path
) -> pd.DataFrame:
    """One synthetic export of n submissions, written as the platform writes it and ingested."""
    from hazegov.survey.ingest import ingest_export
    from hazegov.survey.synthetic import synthesize_export, write_export

    table = synthesize_export(_with_seed(model, seed), cb, n)
    path = Path(workdir) / "export.csv"
    write_export(table, path, "csv-utf8")
    return ingest_export(path, cb, out_of_range=out_of_range).responses


def analysis_sample(responses: pd.DataFrame, cb: Codebook, settings: Settings) -> pd.DataFrame:
    """The study's exclusion rules and missing-data rule applied to ingested responses."""
    return sample_of_verdict(excluded(responses, cb, settings), cb, settings)


def excluded(responses: pd.DataFrame, cb: Codebook, settings: Settings) -> Any:
    """The exclusion rules' verdict on ingested responses (`cleaning.ExclusionVerdict`)."""
    from hazegov.survey.cleaning import exclusion_verdict

    return exclusion_verdict(responses, cb, dict(settings.exclusions))


def measured(responses: pd.DataFrame, cb: Codebook, rules: Mapping[str, Any]) -> Any:
    """The submissions in the rules' order and what the exclusion rules measure of them
    (`cleaning.exclusion_measures`), before any threshold."""
    from hazegov.survey.cleaning import exclusion_measures

    return exclusion_measures(responses, cb, rules)


def sample_of_verdict(verdict: Any, cb: Codebook, settings: Settings) -> pd.DataFrame:
    """The analysis sample of the submissions an exclusion verdict keeps (missing-data rule)."""
    from hazegov.analysis.sample import sample_of_columns
    from hazegov.survey.cleaning import analysis_columns

    # as `build_analysis_sample` of `analysis_frame`, without the analysis frame in between
    sample = sample_of_columns(
        analysis_columns(verdict.frame, verdict.kept, cb),
        int(verdict.kept.sum()),
        cb,
        settings.missing_rule,
        controls=settings.required,
        min_items_answered=settings.min_items_answered,
    )
    return sample.frame


def draw_analysis_sample(
    model: PopulationModel,
    cb: Codebook,
    n: int,
    seed: int,
    settings: Settings,
    workdir: Path,
) -> pd.DataFrame:
    """One synthetic export of n submissions, through ingest, exclusions and missing-data rule."""
    responses = draw_responses(model, cb, n, seed, settings.out_of_range, workdir)
    return analysis_sample(responses, cb, settings)


def _sample_settings(n: int, seed: int, s: Settings) -> dict[str, Any]:
    """What one replication's analysis sample depends on (besides model, codebook and code)."""
    return {**_kept_sample_settings(n, seed, s), "exclusions": dict(s.exclusions)}


def _export_settings(n: int, seed: int, s: Settings) -> dict[str, Any]:
    """What one replication's ingested export depends on (besides model, codebook and code)."""
    return {"n": int(n), "seed": str(seed), "out_of_range": s.out_of_range}


def _measured_settings(n: int, seed: int, s: Settings) -> dict[str, Any]:
    """What the exclusion rules' measures of one replication's submissions depend on: the
    export and the rules without their thresholds."""
    from hazegov.survey.cleaning import measured_settings

    return {**_export_settings(n, seed, s), "exclusions": measured_settings(s.exclusions)}


def _kept_sample_settings(n: int, seed: int, s: Settings) -> dict[str, Any]:
    """What the sample depends on once the exclusion rules have said which submissions stay."""
    return {
        **_export_settings(n, seed, s),
        "missing_rule": s.missing_rule,
        "min_items_answered": s.min_items_answered,
        "required": list(s.required),
    }


class _KeptSubmissions:
    """The submissions in the rules' order and which the rules keep: what a sample is built from
    (`cleaning.ExclusionVerdict` has the same). The submissions are read only when a sample is
    built: a changed rule that keeps the same ones needs only `kept`."""

    def __init__(self, kept: np.ndarray, frame: Callable[[], pd.DataFrame]) -> None:
        self.kept = kept
        self._frame = functools.cache(frame)

    @property
    def frame(self) -> pd.DataFrame:
        return self._frame()


def _kept_digest(kept: np.ndarray) -> str:
    """sha256 of which submissions (in the rules' order) the exclusion rules keep."""
    return hashlib.sha256(f"{len(kept)}:".encode() + np.packbits(kept).tobytes()).hexdigest()


def _model_settings(s: Settings) -> dict[str, dict[str, Any]]:
    """What each model's rows depend on beyond the analysis sample."""
    return {
        "ols": {
            "outcome": s.outcome,
            "predictors": list(s.predictors),
            "controls": list(s.controls),
            "categorical": list(s.categorical),
            "null_effects": list(s.null_effects),
            "confidence": s.confidence,
        },
        "sem": {
            "paths": [list(p) for p in s.paths],
            "indirect": [list(c) for c in s.indirect],
            "confidence": s.confidence,
        },
    }


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes and values (row order included).

    Two analysis samples with the same digest give the same fits, whatever settings made them.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_digest(a) == frame_digest(a.copy()) != frame_digest(a.iloc[::-1])
    True
    """
    dtypes = list(frame.dtypes)
    # the columns taken a dtype's numbers at a time (as stored), the others together: reading
    # a frame column by column cost more than hashing the values
    by_dtype: dict[Any, list[int]] = {}
    for i, dtype in enumerate(dtypes):
        numbers = isinstance(dtype, np.dtype) and dtype.kind in "biuf"
        by_dtype.setdefault(dtype if numbers else None, []).append(i)
    stored: dict[int, bytes] = {}
    for dtype, positions in by_dtype.items():
        columns = frame.take(positions, axis=1)
        if dtype is None:
            stored.update(
                (i, _column_bytes(column))
                for i, (_, column) in zip(positions, columns.items(), strict=True)
            )
        else:
            values = columns.to_numpy()
            stored.update((i, values[:, j].tobytes()) for j, i in enumerate(positions))
    digest = hashlib.sha256()
    for i, (name, dtype) in enumerate(zip(frame.columns, dtypes, strict=True)):
        digest.update(f"{name}\0{dtype}\0".encode())
        digest.update(stored[i])
    digest.update(f"{len(frame)}".encode())
    return digest.hexdigest()


def _column_bytes(column: pd.Series) -> bytes:
    """Bytes equal only where the values are (with the dtype, which the digest adds first).

    Numbers are taken as they are stored (a masked array's values where present, then its
    mask); other columns through pandas' hash of each value. Hashing every column's values
    cost more than fitting a replication's regression.
    """
    values = column.array
    if isinstance(values, pd.arrays.NumpyExtensionArray) and values.dtype.kind in "biuf":
        return np.ascontiguousarray(values.to_numpy()).tobytes()
    if isinstance(
        values, pd.arrays.IntegerArray | pd.arrays.BooleanArray | pd.arrays.FloatingArray
    ):
        mask = values.isna()
        data = np.where(mask, 0, values.to_numpy(dtype=values.dtype.numpy_dtype, na_value=0))
        return data.tobytes() + np.packbits(mask).tobytes()
    return pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes()


class _ReplicationCache:
    """Each replication's ingested export, analysis sample digest and model rows, kept between runs.

    The export is keyed by what synthesis and ingest depend on (population model, codebook, size,
    seed, out-of-range rule and the code: :class:`hazegov.robustness.result_cache.ResultCache`), so
    it survives any change of the analysis choices. What the exclusion rules measure of each
    submission (`cleaning.exclusion_measures`) is kept under the export and the rules without
    their thresholds, so neither a changed threshold nor a changed missing-data rule reads the
    answers again to judge them. The analysis sample is known by its content
    (:func:`frame_digest`), recorded under the exclusion and missing-data settings that made it; a
    model's rows are keyed by the sample's content and the model's settings. A changed choice
    therefore refits only the replications whose sample it changed, and only the models it concerns:
    a stricter minimum completion time that excludes nobody new refits nothing, a changed set of
    controls refits only the regression (on a sample rebuilt from the kept export). An export is
    used as parquet gives it back, whether just drawn or kept, so a run with and one without kept
    items see the same values. A job keeps its batch in one file per kind (`shard`), written by
    `save`; without a directory nothing is kept.
    """

    def __init__(
        self,
        directory: str | Path | None,
        model: PopulationModel,
        cb: Codebook,
        shard: str,
        rules: Mapping[str, Any],
    ) -> None:
        from hazegov.robustness.result_cache import FrameShard, ResultCache, RowsShard
        from hazegov.survey.cleaning import EXCLUSION_ORDER

        self.cb = cb
        self.rules = dict(rules)
        self.responses_kept = None
        self.measures_kept: FrameShard | None = None
        self.caches = None
        self.rows_kept: dict[str, RowsShard] = {}
        if directory is not None:
            inputs = [model.path, cb.path]
            self.responses_kept = FrameShard(directory, inputs, "simulation-responses", shard)
            # the measures' columns are the enabled rules': one file per set of rules (named by
            # their initials, as "damsi" for all five), so that a file holds frames of one layout
            enabled = "".join(
                name[0] for name in EXCLUSION_ORDER if rules.get(name, {}).get("enabled", False)
            )
            self.measures_kept = FrameShard(
                directory, inputs, "simulation-exclusion-measures", f"{shard}_{enabled or 'none'}"
            )
            self.caches = {
                "sample-of": ResultCache(directory, inputs, "simulation-sample-of", shard),
                "sample-of-kept": ResultCache(
                    directory, inputs, "simulation-sample-of-kept", shard
                ),
            }
            # model rows as tables: the identifier scan reads a parquet file's text cells, where
            # a JSON file is all text (a second per batch when a changed choice rewrites it)
            self.rows_kept = {
                kind: RowsShard(directory, inputs, f"simulation-{kind}", shard)
                for kind in ("ols", "sem")
            }

    def responses(self, settings: Mapping[str, Any], draw: Any) -> pd.DataFrame:
        """The ingested export (`settings`: `_export_settings`; synthesis and ingest depend on
        none of the analysis choices)."""
        if self.responses_kept is None:
            return draw()
        return self.responses_kept.get(self.responses_kept.key(settings), draw)

    def judged(self, settings: Mapping[str, Any], responses: Callable[[], pd.DataFrame]) -> Any:
        """Which submissions the exclusion rules keep, judged from what they measure of each
        (`settings`: `_measured_settings`): kept measures, or those of `responses()`, kept.

        The measures are numbers and booleans in a parquet table: the identifier scan reads
        none of them as text. The submissions themselves are read only if a sample is built."""
        from hazegov.survey.cleaning import judge_measures, ordered_submissions

        ordered: list[pd.DataFrame] = []

        def measure() -> pd.DataFrame:
            frame, measures = measured(responses(), self.cb, self.rules)
            ordered.append(frame)
            return measures

        if self.measures_kept is None:
            measures = measure()
        else:
            measures = self.measures_kept.get(self.measures_kept.key(settings), measure)
        kept, _, _ = judge_measures(measures, self.rules)
        return _KeptSubmissions(
            kept, lambda: ordered[0] if ordered else ordered_submissions(responses(), self.cb)
        )

    def sample(
        self,
        settings: Mapping[str, Any],
        kept_settings: Mapping[str, Any],
        verdict: Any,
        build: Any,
    ) -> tuple[str, Any]:
        """The digest of the sample `settings` give, and a function returning the sample.

        Known by its settings, the sample is neither built nor judged. Otherwise the exclusion
        rules are applied (`verdict()`); a sample of the same kept submissions under the same
        missing-data settings (`kept_settings`) is known too, so a changed rule that keeps the
        same submissions does not build it again. `build(verdict)` builds it.
        """
        if self.caches is None:
            frame = build(verdict())
            return frame_digest(frame), lambda: frame
        pointer = self.caches["sample-of"]
        key = pointer.key(settings)
        record = pointer.get(key)
        if record is not None:
            return record["digest"], functools.cache(lambda: build(verdict()))
        judged = verdict()
        by_kept = self.caches["sample-of-kept"]
        kept_key = by_kept.key({**kept_settings, "kept": _kept_digest(judged.kept)})
        record = by_kept.get(kept_key)
        if record is not None:
            pointer.put(key, record)
            return record["digest"], functools.cache(lambda: build(judged))
        frame = build(judged)
        digest = frame_digest(frame)
        pointer.put(key, {"digest": digest})
        by_kept.put(kept_key, {"digest": digest})
        return digest, lambda: frame

    def rows(self, kind: str, digest: str, settings: Mapping[str, Any], fit: Any) -> list[dict]:
        """A model's rows on the sample with `digest`: kept, or `fit()`ted and kept."""
        if not self.rows_kept:
            return fit()
        kept = self.rows_kept[kind]
        key = kept.key({"sample": digest, "model": dict(settings)})
        return kept.get(key, fit)

    def save(self) -> None:
        """Write what this job added (one file per kind)."""
        for shard in [self.responses_kept, self.measures_kept, *self.rows_kept.values()]:
            if shard is not None:
                shard.save()
        for cache in (self.caches or {}).values():
            cache.save()


def _replication_rows(
    cache: _ReplicationCache,
    model: PopulationModel,
    cb: Codebook,
    n: int,
    rep_seed: int,
    s: Settings,
    workdir: Path,
) -> list[dict[str, Any]]:
    """One replication's rows: OLS, then path model, each with the number analysed."""

    def responses() -> pd.DataFrame:
        return cache.responses(
            _export_settings(n, rep_seed, s),
            lambda: draw_responses(model, cb, n, rep_seed, s.out_of_range, workdir),
        )

    def verdict() -> Any:
        return cache.judged(_measured_settings(n, rep_seed, s), responses)

    digest, sample = cache.sample(
        _sample_settings(n, rep_seed, s),
        _kept_sample_settings(n, rep_seed, s),
        verdict,
        lambda judged: sample_of_verdict(judged, cb, s),
    )
    fits = {"ols": ols_estimates, "sem": sem_estimates}
    found = []
    for kind, settings in _model_settings(s).items():
        rows = cache.rows(
            kind,
            digest,
            settings,
            lambda fit=fits[kind]: [
                {**row, "n_analysed": len(sample())} for row in fit(sample(), cb, s)
            ],
        )
        found += rows
    return found


def run_replications(
    population_model: PopulationModel,
    codebook: Codebook,
    n: int,
    replications: Sequence[int],
    seed: int,
    settings: Mapping[str, Any] | Settings,
    *,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """One row per replication and key estimate (see `REPLICATION_COLUMNS`).

    A fit that fails or does not converge gives rows with `converged` False and the reason in
    `message`; they are counted, not dropped, by `summarise`. With ``cache_dir``, each
    replication's ingested export, analysis sample and model rows are kept there and reused
    by later runs whose settings they do not depend on (``_ReplicationCache``).
    """
    s = settings_from(settings)
    rows: list[dict[str, Any]] = []
    log = logging.getLogger("hazegov")
    step = max(1, len(replications) // 10)
    shard = f"n{n}_r{min(replications, default=0)}-{max(replications, default=0)}"
    cache = _ReplicationCache(cache_dir, population_model, codebook, shard, s.exclusions)
    with _single_thread(), tempfile.TemporaryDirectory(prefix="hazegov-sim-") as tmp:
        for done, replication in enumerate(replications, start=1):
            rep_seed = replication_seed(seed, n, replication)
            found = _replication_rows(cache, population_model, codebook, n, rep_seed, s, Path(tmp))
            for row in found:
                row.update(n=int(n), replication=int(replication))
            rows += found
            if done % step == 0 or done == len(replications):
                log.info("n = %d: %d of %d replications done", n, done, len(replications))
    cache.save()
    out = pd.DataFrame(rows, columns=REPLICATION_COLUMNS)
    return out.astype({"n": "int64", "replication": "int64", "n_analysed": "int64"})


# ------------------------------------------------------------------------------------- truth


def sector_weights(model: PopulationModel, cb: Codebook, n: int | None = None) -> dict[str, float]:
    """Share of each respondent sector in an export of n submissions (the model's group sizes
    scaled to n as the generator scales them; n None: the model's own sizes)."""
    from hazegov.survey.synthetic import _scaled_sizes

    group_sector = cb.group_sector()
    sizes = _scaled_sizes(model.raw["group_sizes"], n or model.n)
    total = sum(sizes.values())
    weights: dict[str, float] = {}
    for group, k in sizes.items():
        sector = group_sector[group]
        weights[sector] = weights.get(sector, 0.0) + k / total
    return dict(sorted(weights.items()))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(40)


def _indicator_covariance(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """cov(1[Z1 < h_a], 1[Z2 < k_b]) for standard normals with correlation rho, all pairs (a, b).

    Plackett's identity: d Phi2(h, k; r)/dr = phi2(h, k; r), so the covariance
    Phi2(h, k; rho) - Phi(h) Phi(k) is the integral of phi2 from 0 to rho (Gauss-Legendre).
    """
    r = rho * (_GL_NODES + 1) / 2
    w = rho * _GL_WEIGHTS / 2
    hh, kk = h[:, None, None], k[None, :, None]
    q = (hh**2 - 2 * r * hh * kk + kk**2) / (2 * (1 - r**2))
    density = np.exp(-q) / (2 * np.pi * np.sqrt(1 - r**2))
    return (density * w).sum(axis=2)


@dataclass(frozen=True)
class ItemMoments:
    """Population moments of the analysed answer codes (reverse-worded items turned round)."""

    items: list[str]
    constructs: list[str]  # construct of each item
    within: np.ndarray  # covariance within sector, pooled over sectors by their shares
    total: np.ndarray  # covariance in the whole population (sector mean differences included)
    mean: np.ndarray


def observed_item_moments(
    model: PopulationModel, cb: Codebook, constructs: Sequence[str], n: int | None = None
) -> ItemMoments:
    """Exact moments of the five-point answers to the items of `constructs`, no missing cells.

    An answer code is 1 + sum_k 1[y* > t_k], with y* normal (unit variance, mean
    sign * loading * sector mean of the construct + intercept), so the covariance of two codes is
    the sum, over pairs of cut points, of the covariances of the indicators, and its mean
    1 + sum_k P(y* > t_k). Sectors are weighted by their share in an export of n submissions.
    """
    cuts = np.asarray(model.raw["thresholds"], dtype=float)
    phi = latent_construct_covariance(model)
    pairs = [(c, i) for c in constructs for i in cb.construct(c).items]
    lam = np.array([float(model.raw["loadings"][i]) for _, i in pairs])
    sign = np.array([-1.0 if cb.variable(i).reverse else 1.0 for _, i in pairs])
    flip = np.array(
        [sum(cb.variable(i).valid_range) if cb.variable(i).reverse else 0 for _, i in pairs],
        dtype=float,
    )
    k = len(pairs)
    weights = sector_weights(model, cb, n)
    within = np.zeros((k, k))
    means = {}
    for sector, weight in weights.items():
        mu = np.array(
            [
                sign[j] * lam[j] * construct_mean(model, c, sector) + model.intercept(i)
                for j, (c, i) in enumerate(pairs)
            ]
        )
        # 1[y* > t] = 1[-(y* - mu) < mu - t]: indicators of standard normals below h = mu - t.
        h = mu[:, None] - cuts[None, :]
        p = special.ndtr(h)
        codes = np.zeros((k, k))
        for a in range(k):
            codes[a, a] = float(
                (special.ndtr(np.minimum.outer(h[a], h[a])) - np.outer(p[a], p[a])).sum()
            )
            for b in range(a + 1, k):
                rho = sign[a] * sign[b] * lam[a] * lam[b] * float(phi.loc[pairs[a][0], pairs[b][0]])
                codes[a, b] = codes[b, a] = float(_indicator_covariance(h[a], h[b], rho).sum())
        within += weight * codes * np.outer(sign, sign)
        raw_mean = 1 + p.sum(axis=1)
        means[sector] = np.where(sign < 0, flip - raw_mean, raw_mean)
    w = np.array(list(weights.values()))
    stacked = np.array([means[s] for s in weights])
    grand = w @ stacked
    between = (stacked - grand).T @ ((stacked - grand) * w[:, None])
    return ItemMoments(
        items=[i for _, i in pairs],
        constructs=[c for c, _ in pairs],
        within=within,
        total=within + between,
        mean=grand,
    )


def observed_score_regression(
    model: PopulationModel,
    cb: Codebook,
    outcome: str,
    predictors: Sequence[str],
    n: int | None = None,
) -> dict[str, float]:
    """Exact population OLS slopes of one analysed mean score on others with sector terms in
    the model (controls drawn independently of the answers within sector leave them as they
    are): the pooled within-sector covariance of the mean scores of the categorized answers."""
    constructs = [*predictors, outcome]
    moments = observed_item_moments(model, cb, constructs, n)
    averaging = np.array(
        [[(c == d) / len(cb.construct(c).items) for d in moments.constructs] for c in constructs]
    )
    cov = averaging @ moments.within @ averaging.T
    p = len(predictors)
    slopes = np.linalg.solve(cov[:p, :p], cov[:p, p])
    return dict(zip(predictors, slopes.tolist(), strict=True))


def frame_with_covariance(
    covariance: np.ndarray, mean: np.ndarray, columns: Sequence[str], rows: int = 2000
) -> pd.DataFrame:
    """Data whose sample means and covariance (n - 1 denominator) are exactly the given ones:
    an estimator that reads only these moments returns its population value on it."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((rows, len(columns)))
    z -= z.mean(axis=0)
    whiten = np.linalg.cholesky(z.T @ z / (rows - 1))
    z = np.linalg.solve(whiten, z.T).T
    x = z @ np.linalg.cholesky(covariance).T + mean
    return pd.DataFrame(x, columns=list(columns))


def exact_path_coefficients(
    model: PopulationModel,
    cb: Codebook,
    settings: Mapping[str, Any] | Settings,
    n: int | None = None,
) -> pd.DataFrame:
    """The path model fitted to the exact population covariance of the analysed answers: the
    values its estimates converge to (standardized paths in `std_estimate`)."""
    s = settings_from(settings)
    constructs = list(dict.fromkeys(c for pair in s.paths for c in pair))
    moments = observed_item_moments(model, cb, constructs, n)
    frame = frame_with_covariance(moments.total, moments.mean, moments.items)
    from hazegov.analysis.sample import measurement_model
    from hazegov.analysis.sem import fit_path_model

    spec = {c: items for c, items in measurement_model(cb).items() if c in constructs}
    with _single_thread():
        result = fit_path_model(frame, spec, list(s.paths), n_boot=0)
    if not result.converged:
        raise AnalysisError(
            "simulation targets: the path model does not converge on the population covariance"
        )
    return result.path_coefficients


def latent_pooled_paths(
    model: PopulationModel,
    cb: Codebook,
    paths: Sequence[tuple[str, str]],
    n: int | None = None,
) -> dict[tuple[str, str], float]:
    """Standardized latent path coefficients in the pooled population (sectors mixed in their
    shares): within-sector covariance plus the covariance of the sector means."""
    within = latent_construct_covariance(model)
    names = list(within.index)
    weights = sector_weights(model, cb, n)
    means = np.array([[construct_mean(model, c, s) for c in names] for s in weights])
    w = np.array(list(weights.values()))
    centred = means - w @ means
    total = within.to_numpy() + centred.T @ (centred * w[:, None])
    sd = np.sqrt(np.diag(total))
    corr = pd.DataFrame(total / np.outer(sd, sd), index=names, columns=names)
    out: dict[tuple[str, str], float] = {}
    by_outcome: dict[str, list[str]] = {}
    for o, p in paths:
        by_outcome.setdefault(o, []).append(p)
    for o, ps in by_outcome.items():
        beta = np.linalg.solve(corr.loc[ps, ps].to_numpy(), corr.loc[ps, o].to_numpy())
        out |= {(o, p): float(b) for p, b in zip(ps, beta, strict=True)}
    return out


def _chain_pairs(key: str) -> list[tuple[str, str]]:
    """(outcome, predictor) pairs along an indirect chain id such as LEAD_RESP_EFF."""
    return [(b, a) for a, b in itertools.pairwise(key.split("_"))]


def population_targets(
    population_model: PopulationModel,
    codebook: Codebook,
    settings: Mapping[str, Any] | Settings,
    n: int | None = None,
) -> pd.DataFrame:
    """The value each key estimate converges to, at the sector shares of an export of n.

    `truth`: exact. OLS slopes from the population covariance of the categorized mean scores
    (`observed_score_regression`); path-model coefficients by fitting the model to the exact
    population covariance of the answers (`exact_path_coefficients`); indirect effects as
    products of paths; null effects zero by construction. All for complete answers: the
    missing-data rule's effect on them is checked by `large_draw_check`.
    `latent`: the latent counterpart (scores of the continuous responses, within sector, for
    OLS; standardized latent paths of the pooled population for the path model).
    """
    s = settings_from(settings)
    analytic = observed_score_regression(
        population_model, codebook, s.outcome, list(s.predictors), n
    )
    latent_ols = latent_score_regression(population_model, codebook, s.outcome, list(s.predictors))
    paths = exact_path_coefficients(population_model, codebook, s, n).set_index(
        ["outcome", "predictor"]
    )["std_estimate"]
    latent_paths = latent_pooled_paths(population_model, codebook, s.paths, n)
    rows = []
    for spec in estimate_specs(s):
        key = spec.id.split(".", 1)[1]
        if spec.kind == "effect":
            truth, latent, source = analytic[key], latent_ols[key], "exact (score covariance)"
        elif spec.kind == "no_effect":
            truth, latent, source = 0.0, 0.0, "zero by construction"
        elif spec.kind == "path":
            predictor, outcome = key.split("_", 1)
            truth = float(paths.loc[(outcome, predictor)])
            latent = latent_paths[(outcome, predictor)]
            source = "exact (fit to the population covariance)"
        else:
            pairs = _chain_pairs(key)
            truth = float(np.prod([paths.loc[pair] for pair in pairs]))
            latent = float(np.prod([latent_paths[pair] for pair in pairs]))
            source = "exact (product of paths)"
        rows.append(
            {
                "n": n or population_model.n,
                "estimate": spec.id,
                "model": spec.model,
                "label": spec.label,
                "kind": spec.kind,
                "truth": float(truth),
                "latent": float(latent),
                "source": source,
            }
        )
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def _clean_analysis_frame(
    codes: pd.DataFrame, cb: Codebook, nonresponse_rate: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Answers of attentive respondents shaped as the cleaning step hands them on: skipped
    questions (missing already in `codes`, as `draw_respondents` gives them) and unanswered
    cells missing, reverse-worded items turned round."""
    from hazegov.survey.cleaning import reverse_code

    frame = codes.copy()
    rating = cb.overall_rating.name  # found by its role in the codebook, whatever its name
    answers = [v.name for v in cb.likert_items] + [rating]
    empty = rng.random((len(frame), len(answers))) < nonresponse_rate
    frame[answers] = frame[answers].astype("Int64").mask(empty)
    frame = reverse_code(frame, cb)
    government = {s.id: s.government for s in cb.sectors}
    out = pd.DataFrame(
        {
            "respondent_id": [f"S{i + 1:06d}" for i in range(len(frame))],
            "resp_group": frame["resp_group"].astype("string").to_numpy(),
            "sector": frame["sector"].astype("string").to_numpy(),
        }
    )
    out["government"] = out["sector"].map(government).astype("boolean")
    for name in [v.name for v in cb.demographics] + [v.name for v in cb.likert_items]:
        out[name] = frame[name].astype("Int64").to_numpy()
    out[rating] = frame[rating].astype("Int64").to_numpy()
    return out


# ten significant digits in the truth, check and summary CSVs (targets are compared with
# estimates downstream)
PRECISE = "%.10g"


def large_draw_check(
    population_model: PopulationModel,
    codebook: Codebook,
    settings: Mapping[str, Any] | Settings,
    n_draw: int,
    seed: int,
) -> pd.DataFrame:
    """The key estimates on one large draw of clean respondents, with the model's item
    non-response and the study's missing-data rule, beside the exact targets (model's sector
    shares): `draw`, its standard error `draw_se`, `exact` and `z` = (draw - exact) / draw_se.
    """
    from hazegov.analysis.sample import build_analysis_sample
    from hazegov.survey.synthetic import draw_respondents

    s = settings_from(settings)
    draw_seed = replication_seed(seed, 0, n_draw)
    with _single_thread():
        codes = draw_respondents(_with_seed(population_model, draw_seed), codebook, n_draw)
        rate = float(population_model.raw["defects"]["item_nonresponse_rate"])
        frame = _clean_analysis_frame(codes, codebook, rate, np.random.default_rng([draw_seed, 1]))
        sample = build_analysis_sample(
            frame,
            codebook,
            s.missing_rule,
            controls=s.required,
            min_items_answered=s.min_items_answered,
        ).frame
        found = ols_estimates(sample, codebook, s) + sem_estimates(sample, codebook, s)
    exact = population_targets(population_model, codebook, s).set_index("estimate")["truth"]
    out = pd.DataFrame(found)[["estimate", "value", "se"]].rename(
        columns={"value": "draw", "se": "draw_se"}
    )
    out.insert(1, "n_draw", len(sample))
    out["exact"] = out["estimate"].map(exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = (out["draw"] - out["exact"]) / out["draw_se"]
    return out


# ---------------------------------------------------------------------------------- summary

SUMMARY_COLUMNS = [
    "n",
    "estimate",
    "model",
    "label",
    "kind",
    "truth",
    "replications",
    "failed",
    "mean_estimate",
    "bias",
    "bias_mcse",
    "relative_bias",
    "empirical_sd",
    "mean_se",
    "se_ratio",
    "rmse",
    "coverage",
    "coverage_mcse",
    "power",
    "power_mcse",
    "mean_n_analysed",
]


def summarise(reps: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per sample size and estimate, over the converged replications: mean estimate, bias (with
    its Monte Carlo SE), relative bias (of the target), empirical SD, mean SE and their ratio,
    RMSE, interval coverage of the target and the share with p < alpha (power; for a null effect
    the type I error rate), each share with its Monte Carlo SE; `failed` counts the rest.

    `truth` has the target of each (n, estimate) (`population_targets`), in table order.
    """
    targets = truth.set_index(["n", "estimate"])
    order = {e: i for i, e in enumerate(dict.fromkeys(truth["estimate"]))}
    rows = []
    for (n, estimate), group in reps.groupby(["n", "estimate"], sort=True):
        if (n, estimate) not in targets.index:
            raise ValueError(f"simulation: no target for {estimate} at n = {n}")
        spec = targets.loc[(n, estimate)]
        ok = group[group["converged"].astype(bool)]
        k = len(ok)
        target = float(spec["truth"])
        values = ok["value"].to_numpy(dtype=float)
        covered = (ok["ci_low"] <= target) & (target <= ok["ci_high"])
        rejected = ok["p"] < alpha
        sd = float(np.std(values, ddof=1)) if k > 1 else math.nan
        mean = float(values.mean()) if k else math.nan
        cov = float(covered.mean()) if k else math.nan
        power = float(rejected.mean()) if k else math.nan
        bias = mean - target
        mean_se = float(ok["se"].mean()) if k else math.nan
        rows.append(
            {
                "n": int(n),
                "estimate": estimate,
                "model": spec["model"],
                "label": spec["label"],
                "kind": spec["kind"],
                "truth": target,
                "replications": len(group),
                "failed": len(group) - k,
                "mean_estimate": mean,
                "bias": bias,
                "bias_mcse": sd / math.sqrt(k) if k > 1 else math.nan,
                "relative_bias": bias / target if target != 0 else math.nan,
                "empirical_sd": sd,
                "mean_se": mean_se,
                "se_ratio": mean_se / sd if k > 1 and sd > 0 else math.nan,
                "rmse": float(np.sqrt(np.mean((values - target) ** 2))) if k else math.nan,
                "coverage": cov,
                "coverage_mcse": math.sqrt(cov * (1 - cov) / k) if k else math.nan,
                "power": power,
                "power_mcse": math.sqrt(power * (1 - power) / k) if k else math.nan,
                "mean_n_analysed": float(group["n_analysed"].mean()),
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["_order"] = out["estimate"].map(order)
    return out.sort_values(["n", "_order"]).drop(columns="_order").reset_index(drop=True)


def _alpha_text(alpha: float) -> str:
    """.05 as the prose and tables print a significance level."""
    return f"{alpha:g}".removeprefix("0")


def _words(values: Sequence[Any]) -> str:
    items = [f"{v:,}" if isinstance(v, int) else str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def study_size(sizes: Sequence[int], model: PopulationModel) -> int:
    """The study's export size: the population model's n, which the simulated sizes include."""
    if model.n not in sizes:
        raise ValueError(
            f"simulation: sizes {list(sizes)} must include the study's size {model.n} "
            "(the population model's n_respondents)"
        )
    return model.n


def summary_table(summary: pd.DataFrame, study_n: int, confidence: float, alpha: float) -> str:
    """The appendix table: every key estimate at the study's size."""
    from hazegov.paper.tables import Column, pipe_table

    rows = summary[summary["n"] == study_n].copy()
    replications = int(rows["replications"].max())
    rows["coverage_text"] = [
        f"{pct(c)} ({pct(m)})" for c, m in zip(rows["coverage"], rows["coverage_mcse"], strict=True)
    ]
    rows["power_text"] = [
        f"{pct(p)} ({pct(m)})" for p, m in zip(rows["power"], rows["power_mcse"], strict=True)
    ]
    rows["relative_text"] = [pct(r) if math.isfinite(r) else "" for r in rows["relative_bias"]]
    level = f"{100 * confidence:g}%"
    columns = [
        Column("label", "Estimate", align="left"),
        Column("truth", "Target", "{:.3f}"),
        Column("bias", "Bias", "{:.3f}"),
        Column("relative_text", "Rel. bias (%)"),
        Column("empirical_sd", "SD", "{:.3f}"),
        Column("mean_se", "Mean SE", "{:.3f}"),
        Column("rmse", "RMSE", "{:.3f}"),
        Column("coverage_text", f"Coverage of {level} CI (%)"),
        Column("power_text", f"p < {_alpha_text(alpha)} (%)"),
    ]
    failed = int(rows["failed"].sum())
    failures = (
        "No fit failed."
        if failed == 0
        else f"{failed} estimates from fits that failed or did not converge are left out."
    )
    return pipe_table(
        rows,
        columns,
        caption=(
            f"Monte Carlo check of the key estimates for exports of {study_n} submissions, the "
            f"study's size: {replications} replications drawn from the stated population model"
        ),
        label="tbl-simulation",
        synthetic=True,
        note=(
            "Target: the value the estimate converges to in the population model. Bias: mean "
            "estimate minus target; Rel. bias: bias in percent of the target. SD: standard "
            "deviation of the estimates over the replications; Mean SE: mean of the reported "
            "standard errors (HC3 for OLS, delta method for the standardized paths, Sobel for "
            f"the indirect effect). Coverage: share of {level} confidence intervals that contain "
            "the target. Last column: share of replications with a significant estimate, the "
            "power of the test (for the control without an effect in the population, its type I "
            "error rate). In parentheses: Monte Carlo standard errors. Path-model coefficients "
            f"are standardized. {failures}"
        ),
    )


def simulation_variables(
    summary: pd.DataFrame,
    truth: pd.DataFrame,
    check: pd.DataFrame,
    config: Mapping[str, Any],
    study_n: int,
    structural: Mapping[str, float],
) -> dict[str, Any]:
    """What the appendix quotes, formatted for the prose."""
    at = summary[summary["n"] == study_n].set_index("estimate")
    effects = at[at["kind"] != "no_effect"]
    sizes = sorted(int(n) for n in summary["n"].unique())
    replications = int(config["replications"])
    batch = int(config["batch_size"])
    confidence = float(config["confidence"])
    targets = truth[truth["n"] == study_n].set_index("estimate")
    weakest = str(effects["power"].idxmin())
    power_of_weakest = summary[summary["estimate"] == weakest].set_index("n")["power"]
    enough = [n for n in sizes if power_of_weakest[n] >= 0.8]
    out: dict[str, Any] = {
        "replications": f"{replications:,}",
        "sizes_text": _words(sizes),
        "study_n": study_n,
        "analysed_at_study_n": f"{at['mean_n_analysed'].mean():.0f}",
        "batch_size": batch,
        "n_jobs": len(sizes) * math.ceil(replications / batch),
        "seed": int(config["seed"]),
        "confidence": f"{100 * confidence:g}%",
        "alpha": _alpha_text(float(config["alpha"])),
        "nominal_mcse": pct(math.sqrt(confidence * (1 - confidence) / replications)),
        "max_abs_bias": num(effects["bias"].abs().max(), 3),
        "max_abs_relative_bias": pct(effects["relative_bias"].abs().max()),
        "se_ratio_min": num(effects["se_ratio"].min(), 2),
        "se_ratio_max": num(effects["se_ratio"].max(), 2),
        "coverage_min": pct(at["coverage"].min()),
        "coverage_max": pct(at["coverage"].max()),
        "fits_failed": int(summary["failed"].sum()),
        "fits_total": int(summary["replications"].sum()),
        "power": {e.replace(".", "_"): pct(effects.loc[e, "power"], 0) for e in effects.index},
        "weakest": {
            "label": str(at.loc[weakest, "label"]),
            "power": pct(at.loc[weakest, "power"], 0),
            "verdict": (
                f"reaches 80 percent at {min(enough)} submissions"
                if enough
                else f"stays below 80 percent up to {max(sizes)} submissions"
            ),
        },
        "check": {
            "n_draw": f"{int(check['n_draw'].iloc[0]):,}",
            "max_abs_z": num(check["z"].abs().max(), 1),
            "max_se": num(check["draw_se"].max(), 3),
        },
    }
    nulls = at[at["kind"] == "no_effect"]
    if len(nulls):
        name = str(nulls.index[0])
        term = name.split(".", 1)[1].replace("_", " ")
        rejection = pct(nulls.loc[name, "power"])
        out["no_effect"] = {
            "sentence": f"The test of {term}, which has no effect in the population, rejects at "
            f"the {out['alpha']} level in {rejection} percent of the replications.",
        }
    else:
        out["no_effect"] = {
            "sentence": "No control of the regression is one without an effect in the "
            "population, so the rate of false rejections is not checked here."
        }
    ols = [e for e in effects.index if at.loc[e, "kind"] == "effect"]
    if ols:
        construct = ols[0].split(".", 1)[1]
        out["example"] = {
            "construct": construct,
            "structural": num(structural.get(construct, math.nan), 2),
            "latent": num(targets.loc[ols[0], "latent"], 3),
            "target": num(targets.loc[ols[0], "truth"], 3),
        }
    return {"simulation": out}


def simulation_figure(
    summary: pd.DataFrame, path: str | Path, confidence: float, alpha: float
) -> None:
    """Power (rejection rate) and interval coverage against the sample size, OLS estimates on
    the left, path-model estimates on the right; nominal coverage with its Monte Carlo band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazegov.survey.describe import SYNTHETIC_MARK, TEXT_WIDTH_IN, save_png

    fig, axes = plt.subplots(2, 2, figsize=(TEXT_WIDTH_IN, 5.4), dpi=150, sharex=True)
    sizes = sorted(int(n) for n in summary["n"].unique())
    panels = (("ols", "OLS of the effectiveness score"), ("sem", "Latent path model"))
    # One colour per predictor of the outcome, the same in both panels; others get their own.
    arrows = {
        e: str(lab).rsplit(" (", 1)[0].split(" → ")
        for e, lab in zip(summary["estimate"], summary["label"], strict=True)
    }
    outcome = next((a[-1] for e, a in arrows.items() if e.startswith("ols.")), None)
    keys = list(
        dict.fromkeys(a[0] if len(a) == 2 and a[1] == outcome else e for e, a in arrows.items())
    )
    colour = {key: f"C{i % 10}" for i, key in enumerate(keys)}
    for col, (model, title) in enumerate(panels):
        part = summary[summary["model"] == model]
        for estimate, rows in part.groupby("estimate", sort=False):
            rows = rows.sort_values("n")
            kind = rows["kind"].iloc[0]
            arrow = arrows[estimate]
            key = arrow[0] if len(arrow) == 2 and arrow[1] == outcome else estimate
            style = {
                "color": "#888888" if kind == "no_effect" else colour[key],
                "linestyle": ":" if kind in ("no_effect", "indirect") else "-",
                "marker": "o",
                "markersize": 3.5,
                "linewidth": 1.2,
            }
            label = " → ".join(arrow)
            if kind == "no_effect":
                label += " (no effect)"
            axes[0, col].plot(rows["n"], 100 * rows["power"], label=label, **style)
            axes[1, col].plot(rows["n"], 100 * rows["coverage"], **style)
        axes[0, col].axhline(80, color="#999999", linewidth=0.7, linestyle="--")
        axes[0, col].axhline(100 * alpha, color="#999999", linewidth=0.7, linestyle=":")
        axes[0, col].set_ylim(0, 102)
        axes[0, col].set_title(title, fontsize=9)
        axes[0, col].legend(fontsize=6.5, frameon=False, loc="center right")
        reps = part.groupby("n")["replications"].max().reindex(sizes).to_numpy(dtype=float)
        band = 1.96 * np.sqrt(confidence * (1 - confidence) / reps)
        axes[1, col].fill_between(
            sizes,
            100 * (confidence - band),
            100 * (confidence + band),
            color="#dddddd",
            linewidth=0,
        )
        axes[1, col].axhline(100 * confidence, color="#666666", linewidth=0.8, linestyle="--")
        axes[1, col].set_xlabel("Submissions per synthetic export")
        axes[1, col].set_xticks(sizes)
    axes[0, 0].set_ylabel(f"Share with p < {_alpha_text(alpha)} (%)")
    axes[1, 0].set_ylabel(f"Coverage of {100 * confidence:g}% CIs (%)")
    low = min(85.0, float(100 * summary["coverage"].min()) - 2)
    for ax in axes[1]:
        ax.set_ylim(low, 100)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.text(
        0.5,
        0.005,
        "Monte Carlo simulation from the stated population model. " + SYNTHETIC_MARK,
        ha="center",
        va="bottom",
        fontsize=7,
        color="#b00020",
    )
    save_png(fig, path)


# --------------------------------------------------------------------------- workflow steps


def _load_model(population_model: str | Path, codebook: str | Path) -> tuple[Any, Codebook]:
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.synthetic import load_population_model

    cb = load_codebook(codebook)
    return load_population_model(population_model, cb), cb


def run_simulation_truth(
    population_model: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    sizes: Sequence[int],
    n_draw: int,
    seed: int,
    truth_out: str | Path,
    check_out: str | Path,
) -> None:
    """The target of every key estimate at every size, and the large-draw check of them (rule
    simulation_truth)."""
    from hazegov.io import write_csv

    model, cb = _load_model(population_model, codebook)
    study_size(sizes, model)
    truth = pd.concat(
        [population_targets(model, cb, settings, int(n)) for n in sorted(sizes)],
        ignore_index=True,
    )
    check = large_draw_check(model, cb, settings, int(n_draw), int(seed))
    for row in check.itertuples(index=False):
        log.info(
            "%-20s exact %.4f, large draw %.4f (SE %.4f, z %+.2f)",
            row.estimate,
            row.exact,
            row.draw,
            row.draw_se,
            row.z,
        )
    write_csv(truth, truth_out, float_format=PRECISE)
    write_csv(check, check_out, float_format=PRECISE)


def run_simulation_batch(
    population_model: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    n: int,
    replications: Sequence[int],
    seed: int,
    out: str | Path,
    cache_dir: str | Path | None = None,
) -> None:
    """One job's replications at one sample size (rule simulation_replications)."""
    from hazegov.io import write_parquet

    model, cb = _load_model(population_model, codebook)
    reps = run_replications(
        model, cb, int(n), list(replications), int(seed), settings, cache_dir=cache_dir
    )
    failed = reps.loc[~reps["converged"], "message"].value_counts()
    log.info(
        "n = %d, replications %d to %d: %d estimates, %d failed",
        n,
        min(replications),
        max(replications),
        len(reps),
        int(failed.sum()),
    )
    for message, count in failed.items():
        log.info("  %d x %s", count, message)
    provenance = {
        "synthetic": True,
        "simulation": True,
        "n": int(n),
        "replications": [min(replications), max(replications)],
    }
    write_parquet(reps, out, provenance)


def run_simulation_summary(
    truth: str | Path,
    check: str | Path,
    batches: Sequence[str | Path],
    population_model: str | Path,
    codebook: str | Path,
    config: Mapping[str, Any],
    summary_out: str | Path,
    variables_out: str | Path,
    table_out: str | Path,
    figure_out: str | Path,
) -> None:
    """Bias, RMSE, coverage and power from all batches; the appendix table, figure and variables
    (rule simulation_summary)."""
    from hazegov.io import write_csv, write_text
    from hazegov.paper.variables import write_variables

    model, _ = _load_model(population_model, codebook)
    targets = pd.read_csv(truth)
    reps = pd.concat([pd.read_parquet(b) for b in batches], ignore_index=True)
    sizes = sorted(int(n) for n in config["sizes"])
    per_size = targets.groupby("n").size()
    expected = int(config["replications"]) * int(per_size.sum())
    if len(reps) != expected or sorted(int(n) for n in reps["n"].unique()) != sizes:
        raise ValueError(
            f"simulation: the batches hold {len(reps)} rows, {expected} expected "
            f"({config['replications']} replications of {per_size.to_dict()} estimates by size)"
        )
    study_n = study_size(sizes, model)
    confidence, alpha = float(config["confidence"]), float(config["alpha"])
    summary = summarise(reps, targets, alpha)
    write_csv(summary, summary_out, float_format=PRECISE)
    write_variables(
        simulation_variables(summary, targets, pd.read_csv(check), config, study_n, model.beta),
        variables_out,
        rule="simulation_summary",
    )
    write_text(table_out, summary_table(summary, study_n, confidence, alpha))
    simulation_figure(summary, figure_out, confidence, alpha)
