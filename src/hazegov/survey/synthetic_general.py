"""Seeded synthetic exports of any questionnaire: a codebook plus a latent-scale population model.

`hazegov.survey.synthetic` draws the haze study's own export (Wenjuanxing-style, its defects and its
population model, byte for byte as committed). This module draws an export for any codebook
(issue 14): items on any response scale (3-, 5-, 7-point, codes that may be negative such as
-3..+3), "don't know" and unanswered cells written as the codebook declares its missing codes,
English-only or bilingual labels, experimental arms in an embedded-data column with items shown
to some arms only (a cell not shown is written as the codebook's ``skipped`` marker, empty in a
Qualtrics export), and a Qualtrics-style CSV: three header rows (column names, question texts,
ImportId JSON) and the platform's many columns the study does not read.

The population model (``form: latent_scales``) states, for respondent i in sector s::

    exogenous factors  eta_i ~ N(mu_s, Phi)        (`factors`, `factor_correlations`)
    endogenous factor  eta_ie = mu_s[e] + sum_k b_ek eta_ik + zeta  (`structural`; unit variance
                       within a sector: Var(zeta) = 1 - b' Phi b)
    item response      y*_ij = +-lambda_j eta_i,c(j) + sqrt(1 - lambda_j^2) eps + intercept_j
                       (negated for reverse-worded items)
    answer             the option of the item's scale, in code order, that y*_ij falls in when cut
                       at the scale's `thresholds` (one fewer than the scale has options)
    rating             lambda * eta_i,construct + sqrt(1 - lambda^2) eps, cut at its scale's cuts

with `sector_mean_shifts` for mu_s (missing entries 0).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hazegov.errors import CodebookError, Violation
from hazegov.io import atomic_path
from hazegov.survey.codebook import PLATFORM_PRESETS, Codebook, Variable
from hazegov.survey.display import holds
from hazegov.survey.synthetic import LatentModelFile

FORM = "latent_scales"
# Why a generated cell has no answer: the reasons of the codebook markers the generator writes.
SKIPPED = "skipped"
UNANSWERED = "unanswered"
# What Qualtrics writes in its second and third header rows for its own columns.
QUALTRICS_TEXTS = {
    "StartDate": ("Start Date", {"ImportId": "startDate", "timeZone": "America/Denver"}),
    "EndDate": ("End Date", {"ImportId": "endDate", "timeZone": "America/Denver"}),
    "Status": ("Response Type", {"ImportId": "status"}),
    "IPAddress": ("IP Address", {"ImportId": "ipAddress"}),
    "Progress": ("Progress", {"ImportId": "progress"}),
    "Duration (in seconds)": ("Duration (in seconds)", {"ImportId": "duration"}),
    "Finished": ("Finished", {"ImportId": "finished"}),
    "RecordedDate": ("Recorded Date", {"ImportId": "recordedDate", "timeZone": "America/Denver"}),
    "ResponseId": ("Response ID", {"ImportId": "_recordId"}),
    "RecipientLastName": ("Recipient Last Name", {"ImportId": "recipientLastName"}),
    "RecipientFirstName": ("Recipient First Name", {"ImportId": "recipientFirstName"}),
    "RecipientEmail": ("Recipient Email", {"ImportId": "recipientEmail"}),
    "ExternalReference": ("External Data Reference", {"ImportId": "externalDataReference"}),
    "LocationLatitude": ("Location Latitude", {"ImportId": "locationLatitude"}),
    "LocationLongitude": ("Location Longitude", {"ImportId": "locationLongitude"}),
    "DistributionChannel": ("Distribution Channel", {"ImportId": "distributionChannel"}),
    "UserLanguage": ("User Language", {"ImportId": "userLanguage"}),
}
# Per-question columns a Qualtrics export carries besides the answers: page timers.
QUALTRICS_TIMERS = ("First Click", "Last Click", "Page Submit", "Click Count")
# How a check reports a problem: bad(key, message, rule="population-model").
_Report = Callable[..., None]
RESPONSE_ID_CHARS = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


@dataclass(frozen=True)
class ScaleModel(LatentModelFile):
    """A latent-scale population model for any questionnaire (``form: latent_scales``).

    Parameters
    ----------
    path
        The model file, named in messages and in the export's sidecar.
    raw
        The parsed YAML.
    """

    @property
    def factors(self) -> list[str]:
        """The exogenous factors, in the order of `factor_correlations`."""
        return list(self.raw["factors"])

    @property
    def structural(self) -> dict[str, dict[str, float]]:
        """Endogenous factor -> {exogenous factor: coefficient}."""
        return {
            e: {c: float(b) for c, b in coefs.items()}
            for e, coefs in (self.raw.get("structural") or {}).items()
        }

    def beta(self, endogenous: str) -> np.ndarray:
        """Coefficients of an endogenous factor on the exogenous ones, in factor order."""
        coefs = self.structural[endogenous]
        return np.array([coefs.get(c, 0.0) for c in self.factors])

    def residual_variance(self, endogenous: str) -> float:
        """Var(zeta) of an endogenous factor: 1 - b' Phi b (unit variance within a sector)."""
        b = self.beta(endogenous)
        return float(1.0 - b @ self.phi @ b)

    def shift(self, sector: str, construct: str) -> float:
        """The mean shift of a factor in a sector (SD units; 0 when not stated)."""
        return float((self.raw.get("sector_mean_shifts") or {}).get(sector, {}).get(construct, 0.0))

    def construct_mean(self, construct: str, sector: str) -> float:
        """Latent mean of a factor in a sector (an endogenous one through its equation)."""
        if construct not in self.structural:
            return self.shift(sector, construct)
        return self.shift(sector, construct) + sum(
            b * self.shift(sector, c) for c, b in self.structural[construct].items()
        )

    def construct_covariance(self) -> pd.DataFrame:
        """Within-sector covariance (= correlation) matrix of every factor."""
        exo = self.factors
        names = [*exo, *self.structural]
        k = len(names)
        cov = np.eye(k)
        cov[: len(exo), : len(exo)] = self.phi
        for i, e in enumerate(self.structural, start=len(exo)):
            b = self.beta(e)
            cov[i, : len(exo)] = cov[: len(exo), i] = self.phi @ b
            for j, f in enumerate(self.structural, start=len(exo)):
                if j != i:
                    cov[i, j] = float(b @ self.phi @ self.beta(f))
        return pd.DataFrame(cov, index=names, columns=names)


def load_scale_model(path: str | Path, cb: Codebook) -> ScaleModel:
    """Read a latent-scale population model and check it against the codebook.

    Parameters
    ----------
    path
        The YAML file (``form: latent_scales``).
    cb
        The codebook it describes.

    Returns
    -------
    ScaleModel

    Raises
    ------
    ConfigError
        Naming the file and the key of every problem found.
    """
    return ScaleModel.read(path, lambda model: check_scale_model(model, cb))


REQUIRED = (
    "form",
    "seed",
    "n_respondents",
    "group_sizes",
    "factors",
    "factor_correlations",
    "loadings",
    "thresholds",
)


def check_scale_model(model: ScaleModel, cb: Codebook) -> list[Violation]:
    """Every inconsistency of the model in itself and with the codebook.

    Parameters
    ----------
    model
        The model.
    cb
        The codebook.

    Returns
    -------
    list of Violation
        One per problem, naming the model file and the key.
    """
    file, raw = model.path, model.raw
    problems: list[Violation] = []

    def bad(key: str, message: str, rule: str = "population-model") -> None:
        problems.append(Violation(file, rule, message, column=key))

    missing = [k for k in REQUIRED if k not in raw]
    for key in missing:
        bad(key, "required key is missing", "required-key")
    if missing:
        return problems
    if not _factors_consistent(model, cb, bad):
        return problems
    _check_factor_correlations(model, bad)
    _check_item_parameters(model, cb, bad)
    _check_drawn_tables(model, cb, bad)
    return problems


def _factors_consistent(model: ScaleModel, cb: Codebook, bad: _Report) -> bool:
    """Check the form, group sizes and factors; False when the factors cannot be checked on."""
    raw = model.raw
    if raw["form"] != FORM:
        bad("form", f"must be {FORM!r} for this generator, not {raw['form']!r}")
    groups = {o.id for o in cb.respondent_group.options}
    sizes = raw["group_sizes"]
    if not isinstance(sizes, dict) or set(sizes) != groups:
        bad("group_sizes", f"must list exactly the codebook's respondent groups {sorted(groups)}")
    elif sum(sizes.values()) != model.n:
        bad("group_sizes", f"sum to {sum(sizes.values())}, not n_respondents = {model.n}")
    constructs = {c.id for c in cb.constructs}
    named = set(model.factors) | set(model.structural)
    if named != constructs or set(model.factors) & set(model.structural):
        bad(
            "factors",
            f"factors and the endogenous factors of structural must be the codebook's constructs "
            f"{sorted(constructs)}, each once (found {sorted(named)})",
        )
        return False
    for endogenous, coefs in model.structural.items():
        unknown = sorted(set(coefs) - set(model.factors))
        if unknown:
            bad(f"structural.{endogenous}", f"names {unknown}, which are not exogenous factors")
            return False
    return True


def _check_factor_correlations(model: ScaleModel, bad: _Report) -> None:
    """The factor correlations form a correlation matrix that leaves each equation a residual."""
    phi = model.phi
    k = len(model.factors)
    if phi.shape != (k, k) or not np.allclose(phi, phi.T) or not np.allclose(np.diag(phi), 1):
        bad("factor_correlations", f"must be a symmetric {k}x{k} correlation matrix")
    elif np.linalg.eigvalsh(phi).min() <= 0:
        bad("factor_correlations", "is not positive definite", "positive-definite")
    else:
        for endogenous in model.structural:
            if model.residual_variance(endogenous) <= 0:
                bad(
                    f"structural.{endogenous}",
                    "explains more than all of its variance",
                    "residual-variance",
                )


def _check_item_parameters(model: ScaleModel, cb: Codebook, bad: _Report) -> None:
    """Each scale item has a loading, the overall rating a construct, each scale its cut points."""
    raw = model.raw
    constructs = {c.id for c in cb.constructs}
    loadings = raw["loadings"] or {}
    for item in cb.likert_items:
        lam = loadings.get(item.name)
        if lam is None or not 0 < float(lam) < 1:
            bad("loadings", f"{item.name} needs a standardized loading strictly between 0 and 1")
    extra = sorted(set(loadings) - {v.name for v in cb.likert_items})
    if extra:
        bad("loadings", f"names items {extra} that are no scale items of the codebook")
    scales = {v.scale: v for v in cb.likert_items}
    rating = raw.get("rating")
    if rating is not None:
        var = cb.overall_rating
        scales[var.scale] = var
        if rating.get("construct") not in constructs or not 0 < rating.get("loading", 0) < 1:
            bad("rating", "needs a construct of the codebook and a loading between 0 and 1")
    for scale, var in scales.items():
        cuts = (raw["thresholds"] or {}).get(scale)
        if cuts is None or len(cuts) != len(var.options) - 1 or list(cuts) != sorted(cuts):
            bad(
                f"thresholds.{scale}",
                f"needs {len(var.options) - 1} increasing cut points for the "
                f"{len(var.options)} options of scale {scale}",
            )


def _check_drawn_tables(model: ScaleModel, cb: Codebook, bad: _Report) -> None:
    """Experimental arms, demographic tables and missing-answer rates fit the codebook."""
    raw = model.raw
    for name, spec in (raw.get("arms") or {}).items():
        try:
            var = cb.variable(name)
        except KeyError:
            bad(f"arms.{name}", "is no variable of the codebook")
            continue
        codes = {o.code for o in var.options}
        shares = spec or {}
        if set(shares) != codes or abs(sum(shares.values()) - 1) > 1e-9:
            bad(f"arms.{name}", f"needs a share for each code {sorted(codes)}, summing to 1")
    for var_name, table in (raw.get("demographics") or {}).items():
        try:
            options = cb.variable(var_name).options
        except KeyError:
            bad(f"demographics.{var_name}", "is no variable of the codebook")
            continue
        if "default" not in table:
            bad(f"demographics.{var_name}", "needs a default row of probabilities")
        for key, probs in table.items():
            if len(probs) != len(options) or abs(sum(probs) - 1) > 1e-9:
                bad(
                    f"demographics.{var_name}.{key}",
                    f"needs {len(options)} probabilities summing to 1",
                )
    for reason, rate in (raw.get("missing_rates") or {}).items():
        if not 0 <= float(rate) < 0.5:
            bad(f"missing_rates.{reason}", "must be a share from 0 to below 0.5")
        if not any(m.reason == reason for v in cb.likert_items for m in v.missing):
            bad(
                f"missing_rates.{reason}",
                f"the codebook declares no missing marker with reason {reason!r} for any "
                "scale item",
            )


def _scaled_sizes(sizes: dict[str, int], n: int) -> dict[str, int]:
    total = sum(sizes.values())
    exact = {g: k * n / total for g, k in sizes.items()}
    floor = {g: int(np.floor(v)) for g, v in exact.items()}
    short = n - sum(floor.values())
    for g in sorted(exact, key=lambda g: (floor[g] - exact[g], g))[:short]:
        floor[g] += 1
    return floor


def _codes_of(var: Variable, latent: np.ndarray, cuts: list[float]) -> np.ndarray:
    """The option codes (ascending) a latent response falls in when cut at `cuts`."""
    codes = np.array(sorted(o.code for o in var.options), dtype=np.int64)
    return codes[np.searchsorted(np.asarray(cuts, dtype=float), latent)]


def draw_latent(model: ScaleModel, cb: Codebook, n: int | None = None) -> pd.DataFrame:
    """Groups, sectors, arms, latent factors (``eta_*``) and item responses (``ystar_*``).

    Parameters
    ----------
    model, cb
        The population model and its codebook.
    n
        Respondents (default the model's; group sizes scaled by largest remainder).

    Returns
    -------
    pandas.DataFrame
        One row per respondent.
    """
    rng = np.random.default_rng(model.seed)
    sizes = _scaled_sizes(model.raw["group_sizes"], n or model.n)
    group_sector = cb.group_sector()
    groups = np.array([g for g, k in sizes.items() for _ in range(k)])
    rng.shuffle(groups)
    m = len(groups)
    sectors = np.array([group_sector[g] for g in groups])
    columns: dict[str, Any] = {"resp_group": groups, "sector": sectors}
    for name, shares in (model.raw.get("arms") or {}).items():
        codes = np.array(list(shares), dtype=np.int64)
        columns[name] = codes[rng.choice(len(codes), m, p=np.array(list(shares.values())))]
    exo = model.factors
    mu = np.array([[model.shift(s, c) for c in exo] for s in sectors])
    eta = mu + rng.standard_normal((m, len(exo))) @ np.linalg.cholesky(model.phi).T
    latent = {c: eta[:, i] for i, c in enumerate(exo)}
    for e in model.structural:
        own = np.array([model.shift(s, e) for s in sectors])
        noise = np.sqrt(model.residual_variance(e)) * rng.standard_normal(m)
        latent[e] = own + eta @ model.beta(e) + noise
    for construct, values in latent.items():
        columns[f"eta_{construct}"] = values
    for item in cb.likert_items:
        lam = float(model.raw["loadings"][item.name])
        sign = -1.0 if item.reverse else 1.0
        y = sign * lam * latent[item.construct] + np.sqrt(1 - lam**2) * rng.standard_normal(m)
        columns[f"ystar_{item.name}"] = y + model.intercept(item.name)
    rating = model.raw.get("rating")
    if rating is not None:
        lam = float(rating["loading"])
        base = latent[rating["construct"]]
        columns["ystar_rating"] = lam * base + np.sqrt(1 - lam**2) * rng.standard_normal(m)
    return pd.DataFrame(columns)


def draw_answers(model: ScaleModel, cb: Codebook, n: int | None = None) -> pd.DataFrame:
    """Answer codes of attentive respondents, display logic applied (no other missing cells).

    An item a respondent is not shown (its `shown_if` does not hold) is NA, as is a question
    skipped for their respondent group.

    Parameters
    ----------
    model, cb
        The population model and its codebook.
    n
        Respondents (default the model's).

    Returns
    -------
    pandas.DataFrame
        ``resp_group``, ``sector``, the arm columns and every coded variable (Int64).
    """
    latent = draw_latent(model, cb, n)
    rng = np.random.default_rng([model.seed, 1])
    m = len(latent)
    sectors = latent["sector"].to_numpy()
    frame = latent[["resp_group", "sector", *(model.raw.get("arms") or {})]].copy()
    thresholds = model.raw["thresholds"]
    for item in cb.likert_items:
        frame[item.name] = _codes_of(
            item, latent[f"ystar_{item.name}"].to_numpy(), thresholds[item.scale]
        )
    for check in cb.attention_checks:
        frame[check.name] = np.full(m, check.expected_code)
    if model.raw.get("rating") is not None:
        var = cb.overall_rating
        frame[var.name] = _codes_of(var, latent["ystar_rating"].to_numpy(), thresholds[var.scale])
    for name, table in (model.raw.get("demographics") or {}).items():
        codes = np.array([o.code for o in cb.variable(name).options])
        uniform = rng.random(m)
        index = np.empty(m, dtype=np.int64)
        for sector in np.unique(sectors):
            rows = sectors == sector
            cdf = np.asarray(table.get(sector, table["default"]), dtype=float).cumsum()
            index[rows] = np.minimum(
                cdf.searchsorted(uniform[rows] * cdf[-1], side="right"), len(codes) - 1
            )
        frame[name] = codes[index]
    for var in cb.variables:  # other single-choice questions: each option equally likely
        drawn = var.name in frame.columns or var.role == "respondent_group"
        if var.kind == "single_choice" and not drawn:
            codes = np.array([o.code for o in var.options])
            frame[var.name] = codes[rng.integers(0, len(codes), m)]
    group_codes = {o.id: o.code for o in cb.respondent_group.options}
    frame[cb.respondent_group.name] = frame["resp_group"].map(group_codes)
    for var in cb.variables:
        if var.name not in frame.columns or not var.is_coded:
            continue
        frame[var.name] = frame[var.name].astype("Int64")
        hidden = np.zeros(m, dtype=bool)
        if var.skipped_for_groups:
            hidden |= frame["resp_group"].isin(var.skipped_for_groups).to_numpy()
        if var.shown_if is not None:
            hidden |= ~holds(var.shown_if, frame, cb)
        frame[var.name] = frame[var.name].mask(hidden)
    return frame


def _marker_cell(cb: Codebook, var: Variable, reason: str) -> str:
    declared = [m for m in var.missing if m.reason == reason]
    if not declared:
        raise CodebookError(
            [
                Violation(
                    cb.path,
                    "missing-marker-for-generator",
                    f"the codebook declares no missing marker with reason {reason!r} for "
                    f"{var.name}; the generator writes its {reason} cells with one",
                    column=var.name,
                )
            ]
        )
    return declared[0].cell


def _answer_cells(var: Variable, codes: pd.Series, cb: Codebook) -> np.ndarray:
    """The cells of a coded variable: codes, or labels in the questionnaire's language."""
    if cb.answers == "codes":
        label = {o.code: str(o.code) for o in var.options}
    else:
        label = {o.code: o.zh or o.en for o in var.options}
    out = np.full(len(codes), _marker_cell(cb, var, SKIPPED), dtype=object)
    given = codes.notna().to_numpy()
    out[given] = [label[int(c)] for c in codes[given]]
    return out


def _response_ids(rng: np.random.Generator, m: int) -> list[str]:
    chars = RESPONSE_ID_CHARS[rng.integers(0, len(RESPONSE_ID_CHARS), (m, 15))]
    return ["R_" + "".join(row) for row in chars]


def _times(start: datetime, seconds: np.ndarray) -> list[str]:
    stamps = np.datetime64(start, "s") + seconds.astype("timedelta64[s]")
    return [str(t).replace("T", " ") for t in stamps]


@dataclass(frozen=True)
class QualtricsTable:
    """A Qualtrics-style export: the data rows and the two header rows below the names.

    Attributes
    ----------
    data
        One text column per export column, named by its header (row 1).
    texts
        Row 2: each column's question text.
    import_ids
        Row 3: each column's ImportId JSON object.
    """

    data: pd.DataFrame
    texts: dict[str, str]
    import_ids: dict[str, dict[str, str]]

    def frame(self) -> pd.DataFrame:
        """The whole export as written: header rows 2 and 3 first, then the responses."""
        header = pd.DataFrame(
            [
                [self.texts[c] for c in self.data.columns],
                [json.dumps(self.import_ids[c], separators=(",", ":")) for c in self.data.columns],
            ],
            columns=self.data.columns,
        )
        return pd.concat([header, self.data], ignore_index=True)


def synthesize_qualtrics(model: ScaleModel, cb: Codebook, n: int | None = None) -> QualtricsTable:
    """Draw respondents and lay them out as a Qualtrics export of the codebook.

    Every Qualtrics metadata column is written (those the codebook ignores or does not read
    too, with plausible values: IP addresses, locations), then the answer columns in codebook
    order with page-timer columns after each question, then the embedded-data columns.
    Defects (`defects` of the model): ``speeders`` complete in under a minute,
    ``attention_failures`` miss the attention check; `missing_rates` gives, per missing
    reason (such as ``unanswered`` or ``dont_know``), the share of shown scale-item cells
    written with the codebook's marker for it.

    Parameters
    ----------
    model, cb
        The population model and its codebook (``instrument.platform: qualtrics``).
    n
        Respondents (default the model's).

    Returns
    -------
    QualtricsTable
    """
    answers = draw_answers(model, cb, n)
    rng = np.random.default_rng([model.seed, 2])
    m = len(answers)
    # the steps share one generator and are called in the order their draws were made
    cells, speeders = _answer_cells_with_defects(model, cb, answers, rng)
    metadata = _qualtrics_metadata(model, cb, rng, m, speeders)
    columns = _ExportColumns()
    for col in PLATFORM_PRESETS["qualtrics"]["columns"]:
        header = col["header"]
        columns.add(header, metadata[header], *QUALTRICS_TEXTS[header])
    _add_question_columns(cb, cells, rng, m, columns)
    for var in cb.variables:
        if var.role == "embedded_data" and var.name in answers.columns:
            values = [str(int(c)) for c in answers[var.name]]
            columns.add(var.header, values, var.name, {"ImportId": var.name})
    columns.add(
        "Q_RecaptchaScore",
        [f"{v:.1f}" for v in rng.uniform(0.5, 1.0, m)],
        "Q_RecaptchaScore",
        {"ImportId": "Q_RecaptchaScore"},
    )
    return QualtricsTable(pd.DataFrame(columns.data).astype(str), columns.texts, columns.import_ids)


@dataclass
class _ExportColumns:
    """The columns of a Qualtrics export as they are laid out: values, row 2 and row 3."""

    data: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    import_ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, header: str, values: Any, text: str, import_id: dict[str, str]) -> None:
        self.data[header] = values
        self.texts[header] = text
        self.import_ids[header] = import_id


def _answer_cells_with_defects(
    model: ScaleModel, cb: Codebook, answers: pd.DataFrame, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The answer cells with missing markers and failed attention checks planted; the speeders."""
    m = len(answers)
    defects = model.raw.get("defects") or {}
    cells: dict[str, np.ndarray] = {}
    for var in cb.variables:
        if var.name in answers.columns and var.header is not None:
            cells[var.name] = _answer_cells(var, answers[var.name], cb)
    shown = {v.name: answers[v.name].notna().to_numpy() for v in cb.likert_items}
    for reason, rate in (model.raw.get("missing_rates") or {}).items():
        for var in cb.likert_items:
            if not any(marker.reason == reason for marker in var.missing):
                continue  # the items whose scale, question or own key declare the reason
            hit = shown[var.name] & (rng.random(m) < float(rate))
            cells[var.name][hit] = _marker_cell(cb, var, reason)
            shown[var.name] = shown[var.name] & ~hit
    speeders = rng.choice(m, int(defects.get("speeders", 0)), replace=False)
    rest = np.setdiff1d(np.arange(m), speeders)
    failures = rng.choice(rest, int(defects.get("attention_failures", 0)), replace=False)
    for check in cb.attention_checks:
        wrong = [o for o in check.options if o.code != check.expected_code]
        picks = rng.integers(0, len(wrong), len(failures))
        cells[check.name][failures] = [
            str(wrong[k].code) if cb.answers == "codes" else (wrong[k].zh or wrong[k].en)
            for k in picks
        ]
    return cells, speeders


def _qualtrics_metadata(
    model: ScaleModel, cb: Codebook, rng: np.random.Generator, m: int, speeders: np.ndarray
) -> dict[str, Any]:
    """The values of every Qualtrics metadata column: times, durations, addresses, locations."""
    duration = model.raw.get("duration") or {"median_seconds": 600, "log_sd": 0.4}
    seconds = np.exp(
        np.log(duration["median_seconds"]) + duration["log_sd"] * rng.standard_normal(m)
    ).astype(np.int64)
    seconds[speeders] = rng.integers(20, 60, len(speeders))
    fieldwork = model.raw.get("fieldwork") or {"start": "2024-03-04 08:00:00", "days": 30}
    start = datetime.fromisoformat(fieldwork["start"])
    began = np.sort(rng.integers(0, int(fieldwork.get("days", 30)) * 86400, m))
    ended = began + seconds
    ip = [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 255, (m, 4)).tolist()]
    latitude = [f"{v:.4f}" for v in rng.uniform(30, 45, m)]
    longitude = [f"{v:.4f}" for v in rng.uniform(-120, -75, m)]
    return {
        "StartDate": _times(start, began),
        "EndDate": _times(start, ended),
        "Status": ["IP Address"] * m,
        "IPAddress": ip,
        "Progress": ["100"] * m,
        "Duration (in seconds)": [str(s) for s in seconds.tolist()],
        "Finished": ["True"] * m,
        "RecordedDate": _times(start, ended),
        "ResponseId": _response_ids(rng, m),
        "RecipientLastName": [""] * m,
        "RecipientFirstName": [""] * m,
        "RecipientEmail": [""] * m,
        "ExternalReference": [""] * m,
        "LocationLatitude": latitude,
        "LocationLongitude": longitude,
        "DistributionChannel": ["anonymous"] * m,
        "UserLanguage": ["EN" if not cb.bilingual else "ZH-S"] * m,
    }


def _add_question_columns(
    cb: Codebook,
    cells: dict[str, np.ndarray],
    rng: np.random.Generator,
    m: int,
    columns: _ExportColumns,
) -> None:
    """The answer columns in codebook order, each question followed by its page timers."""
    question_text = {q["number"]: q.get("text", {}).get("en", "") for q in cb.questions}
    done: set[int] = set()
    for var in cb.variables:
        if var.kind == "platform" or var.header is None or var.name not in cells:
            continue
        stem = question_text.get(var.question, "")
        text = f"{stem} - {var.text_en}" if var.kind == "likert" else var.text_en
        columns.add(
            var.header, cells[var.name], text, {"ImportId": f"QID{var.question}_{var.name}"}
        )
        last = var is [v for v in cb.variables if v.question == var.question][-1]
        if last and var.question not in done:
            done.add(var.question)
            clicks = rng.uniform(2, 60, m)
            for timer in QUALTRICS_TIMERS:
                value = clicks * (1.2 if timer != "First Click" else 0.3)
                values = (
                    [str(int(c)) for c in rng.integers(1, 12, m)]
                    if timer == "Click Count"
                    else [f"{v:.3f}" for v in value]
                )
                columns.add(
                    f"Q{var.question}_Timer_{timer}",
                    values,
                    f"Timing - {timer}",
                    {"ImportId": f"QID{var.question}_{timer.replace(' ', '')}"},
                )


def write_qualtrics_csv(table: QualtricsTable, path: str | Path) -> None:
    """Write a Qualtrics-style CSV (UTF-8 with byte-order mark, three header rows).

    Parameters
    ----------
    table
        The export.
    path
        Where to write it (atomically).
    """
    with atomic_path(Path(path)) as tmp:
        table.frame().to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def generate(
    codebook_path: str | Path,
    population_path: str | Path,
    out: str | Path,
    n: int | None = None,
) -> Path:
    """Draw a Qualtrics-style export of any codebook and write it with its synthetic sidecar.

    Parameters
    ----------
    codebook_path
        The codebook (``instrument.platform: qualtrics``).
    population_path
        Its latent-scale population model.
    out
        The export to write (CSV).
    n
        Respondents (default the model's).

    Returns
    -------
    pathlib.Path
        The export written.
    """
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.synthetic import provenance_record, sidecar_path

    cb = load_codebook(codebook_path)
    if cb.platform != "qualtrics":
        raise CodebookError.single(
            cb.path,
            "generator-platform",
            "the latent-scale generator writes Qualtrics-style exports: the codebook needs "
            f"instrument.platform: qualtrics (it names {cb.platform!r})",
        )
    model = load_scale_model(population_path, cb)
    table = synthesize_qualtrics(model, cb, n)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_qualtrics_csv(table, out)
    record = provenance_record(out, model, cb, "qualtrics-csv", n or model.n)  # type: ignore[arg-type]
    with atomic_path(sidecar_path(out)) as tmp:
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def is_scale_model(path: str | Path) -> bool:
    """Whether a population model file is a latent-scale model (``form: latent_scales``)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and raw.get("form") == FORM
