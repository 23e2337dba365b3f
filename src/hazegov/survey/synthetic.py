"""Seeded synthetic questionnaire export drawn from a stated population model.

The real responses are confidential. This generator draws respondents from the latent-response
model in `config/population_model.yaml` and writes them the way a Chinese survey platform
(Wenjuanxing-style) exports them, defects included, so that the ingest is exercised on what real
exports look like and the analyses can be checked against known population values.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import yaml

from hazegov import __version__
from hazegov.errors import CodebookError, ConfigError, Violation
from hazegov.io import atomic_path
from hazegov.survey.codebook import Codebook, Variable

EXPORT_FORMATS = ("csv-utf8", "csv-gb18030", "xlsx")
SOURCES_ONLINE = ("手机提交", "微信", "链接")
SOURCE_PAPER = "纸质问卷录入"
OTHER_ROLE_TEXTS = ("网格员", "街道办事处联络员", "社区志愿者", "实习人员", "后勤保障")
SUGGESTIONS = (
    "建议明确各部门职责，避免多头管理。",
    "希望政府加强对工地扬尘的监管。",
    "应当把空气质量纳入干部考核。",
    "多开展雾霾健康防护的宣传教育。",
    "鼓励公众举报污染行为，并及时反馈处理结果。",
    "加强京津冀区域联防联控。",
    "减少燃煤，推进清洁能源替代。",
    "公共交通要更方便，鼓励绿色出行。",
    "社区可以设立环境网格员，发现问题及时上报。",
    "重污染天气预警信息应更早发布。",
    "无",
)
KEYING_ERRORS = ("6", "0", "44")
# Why a generated cell has no answer: the reasons of the codebook's missing-data markers that
# the generator writes (a question skipped by its logic, an item left unanswered).
SKIPPED = "skipped"
UNANSWERED = "unanswered"


@dataclass(frozen=True)
class LatentModelFile:
    """A population model file: its seed, size, factor correlations and item intercepts.

    The accessors both model forms share (`PopulationModel` here, `ScaleModel` in
    `hazegov.survey.synthetic_general`).
    """

    path: str
    raw: dict[str, Any]

    @property
    def seed(self) -> int:
        """The seed of every draw."""
        return int(self.raw["seed"])

    @property
    def n(self) -> int:
        """Respondents drawn by default."""
        return int(self.raw["n_respondents"])

    @property
    def phi(self) -> np.ndarray:
        """The correlation matrix of the exogenous factors within a sector."""
        return np.asarray(self.raw["factor_correlations"], dtype=float)

    def intercept(self, item: str) -> float:
        """The intercept of an item's latent response (`intercepts`, else its default, else 0)."""
        intercepts = self.raw.get("intercepts") or {}
        return float(intercepts.get(item, intercepts.get("default", 0.0)))

    @classmethod
    def read(cls, path: str | Path, check: Callable[[Self], list[Violation]]) -> Self:
        """The model in the YAML file at `path`, if `check` finds no problem in it.

        Raises ConfigError naming the file (and the key of every problem `check` returns).
        """
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError.single(
                path, "readable-yaml", f"cannot read population model: {exc}"
            ) from None
        model = cls(str(path), raw if isinstance(raw, dict) else {})
        problems = check(model)
        if problems:
            raise ConfigError(problems)
        return model


@dataclass(frozen=True)
class PopulationModel(LatentModelFile):
    """The stated population model, checked for internal consistency."""

    @property
    def exogenous(self) -> list[str]:
        return list(self.raw["exogenous"])

    @property
    def beta(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.raw["structural"]["EFF"].items()}

    def eff_residual_variance(self) -> float:
        b = np.array([self.beta.get(c, 0.0) for c in self.exogenous])
        return float(1.0 - b @ self.phi @ b)

    def true_values(self) -> dict[str, Any]:
        """Population values later analyses are validated against."""
        return {
            "loadings": dict(self.raw["loadings"]),
            "factor_correlations": {
                f"{a}~{b}": float(self.phi[i, j])
                for i, a in enumerate(self.exogenous)
                for j, b in enumerate(self.exogenous)
                if i < j
            },
            "structural": {"EFF": self.beta},
            "eff_residual_variance": self.eff_residual_variance(),
            "sector_mean_shifts": dict(self.raw["sector_mean_shifts"]),
        }


def load_population_model(path: str | Path, codebook: Codebook) -> PopulationModel:
    return PopulationModel.read(path, lambda model: _check_population_model(model, codebook))


def _check_population_model(model: PopulationModel, cb: Codebook) -> list[Violation]:
    file, raw = model.path, model.raw
    problems: list[Violation] = []

    def bad(key: str, message: str, rule: str = "population-model") -> None:
        problems.append(Violation(file, rule, message, column=key))

    required = (
        "seed",
        "n_respondents",
        "group_sizes",
        "exogenous",
        "factor_correlations",
        "structural",
        "sector_mean_shifts",
        "loadings",
        "thresholds",
        "satisfaction",
        "demographics",
        "duration",
        "fieldwork",
        "defects",
    )
    missing = [k for k in required if k not in raw]
    for key in missing:
        bad(key, "required key is missing", "required-key")
    if missing:
        return problems
    groups = {o.id for o in cb.respondent_group.options}
    sizes = raw["group_sizes"]
    if set(sizes) != groups:
        bad("group_sizes", f"must list exactly the codebook's respondent groups {sorted(groups)}")
    elif sum(sizes.values()) != model.n:
        bad("group_sizes", f"sum to {sum(sizes.values())}, not n_respondents = {model.n}")
    constructs = {c.id for c in cb.constructs}
    if set(model.exogenous) | {"EFF"} != constructs:
        bad(
            "exogenous",
            f"exogenous factors plus EFF must be the codebook constructs {sorted(constructs)}",
        )
    phi = model.phi
    k = len(model.exogenous)
    if phi.shape != (k, k) or not np.allclose(phi, phi.T) or not np.allclose(np.diag(phi), 1):
        bad("factor_correlations", f"must be a symmetric {k}x{k} correlation matrix")
    elif np.linalg.eigvalsh(phi).min() <= 0:
        bad("factor_correlations", "is not positive definite", "positive-definite")
    elif model.eff_residual_variance() <= 0:
        bad("structural", "explains more than all of the variance of EFF", "residual-variance")
    for item in cb.likert_items:
        lam = raw["loadings"].get(item.name)
        if lam is None or not 0 < float(lam) < 1:
            bad("loadings", f"{item.name} needs a standardized loading strictly between 0 and 1")
    for sector in cb.sectors:
        if sector.id not in raw["sector_mean_shifts"]:
            bad("sector_mean_shifts", f"no mean shifts for sector {sector.id}")
    for name in ("thresholds",):
        cuts = raw[name]
        if len(cuts) != 4 or list(cuts) != sorted(cuts):
            bad(name, "needs four increasing cut points")
    d = raw["defects"]
    flagged = d["speeders"] + d["straight_liners"] + d["attention_failures"] + d["paper_forms"]
    if flagged > model.n // 2:
        bad("defects", "too many defective respondents for the sample")
    if d["out_of_range_codes"] > d["paper_forms"]:
        bad(
            "defects", "out_of_range_codes happen on paper forms; need at least as many paper forms"
        )
    for var, table in raw["demographics"].items():
        options = cb.variable(var).options
        for key, probs in table.items():
            if len(probs) != len(options) or abs(sum(probs) - 1) > 1e-9:
                bad("demographics", f"{var}.{key} needs {len(options)} probabilities summing to 1")
    return problems


def _category(latent: np.ndarray, cuts: list[float]) -> np.ndarray:
    return np.searchsorted(np.asarray(cuts, dtype=float), latent) + 1


def _draw_latent(
    model: PopulationModel, cb: Codebook, n: int | None, rng: np.random.Generator
) -> pd.DataFrame:
    """Groups, latent factors and continuous latent responses, before categorization."""
    return pd.DataFrame(_latent_columns(model, cb, n, rng))


def _latent_columns(
    model: PopulationModel, cb: Codebook, n: int | None, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """`_draw_latent` as arrays: an export drawn many times need not build the frame."""
    sizes = _scaled_sizes(model.raw["group_sizes"], n or model.n)
    group_sector = cb.group_sector()
    groups = np.array([g for g, k in sizes.items() for _ in range(k)])
    rng.shuffle(groups)
    m = len(groups)
    sectors = np.array([group_sector[g] for g in groups])

    exo = model.exogenous
    shifts = model.raw["sector_mean_shifts"]
    # each sector's shifts looked up once, then given to its respondents
    drawn = set(sectors.tolist())
    sector_mu = {s: [shifts[s].get(c, 0.0) for c in exo] for s in drawn}
    mu = np.array([sector_mu[s] for s in sectors])
    chol = np.linalg.cholesky(model.phi)
    eta = mu + rng.standard_normal((m, len(exo))) @ chol.T
    beta = np.array([model.beta.get(c, 0.0) for c in exo])
    sector_eff = {s: shifts[s].get("EFF", 0.0) for s in drawn}
    eff_mu = np.array([sector_eff[s] for s in sectors])
    eff = eff_mu + eta @ beta + np.sqrt(model.eff_residual_variance()) * rng.standard_normal(m)
    latent = {c: eta[:, i] for i, c in enumerate(exo)} | {"EFF": eff}

    columns: dict[str, np.ndarray] = {"resp_group": groups, "sector": sectors}
    for construct, values in latent.items():
        columns[f"eta_{construct}"] = values
    for item in cb.likert_items:
        lam = float(model.raw["loadings"][item.name])
        sign = -1.0 if item.reverse else 1.0
        y = sign * lam * latent[item.construct] + np.sqrt(1 - lam**2) * rng.standard_normal(m)
        columns[f"ystar_{item.name}"] = y + model.intercept(item.name)
    lam_s = float(model.raw["satisfaction"]["loading"])
    columns["ystar_satisfaction"] = lam_s * eff + np.sqrt(1 - lam_s**2) * rng.standard_normal(m)
    return columns


def draw_latent_responses(
    model: PopulationModel, cb: Codebook, n: int | None = None
) -> pd.DataFrame:
    """The latent factors (`eta_*`) and continuous item responses (`ystar_*`) behind the answers.

    The same draws as `draw_respondents` for the same seed and n: analyses can be checked
    against the population both before and after the answers are cut into categories.
    """
    return _draw_latent(model, cb, n, np.random.default_rng(model.seed))


def draw_respondents(model: PopulationModel, cb: Codebook, n: int | None = None) -> pd.DataFrame:
    """Answer codes of attentive respondents drawn from the population model (no defects).

    With `n` other than the model's, group sizes are scaled proportionally (largest remainder).
    A question the questionnaire logic skips for a respondent's group is missing (NA, its
    column Int64), not a negative code: any whole number can be an answer code.
    """
    columns, skipped = _respondent_columns(model, cb, n)
    frame = pd.DataFrame(columns)
    for name, rows in skipped.items():
        frame[name] = frame[name].astype("Int64").mask(rows)
    return frame


def _respondent_columns(
    model: PopulationModel, cb: Codebook, n: int | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`draw_respondents` as arrays (codes; groups and sectors as object arrays) and, for each
    question its logic skips for some groups, the rows skipped: an export drawn many times
    need not build and take apart the frame."""
    rng = np.random.default_rng(model.seed)
    latent = _latent_columns(model, cb, n, rng)
    m = len(latent["sector"])
    columns = {
        "resp_group": latent["resp_group"].astype(object),
        "sector": latent["sector"].astype(object),
    }
    for item in cb.likert_items:
        columns[item.name] = _category(latent[f"ystar_{item.name}"], model.raw["thresholds"])
    for check in cb.attention_checks:
        columns[check.name] = np.full(m, check.expected_code)
    sat_cuts = model.raw["satisfaction"]["thresholds"]
    columns["satisfaction"] = _category(latent["ystar_satisfaction"], sat_cuts)
    for var, table in model.raw["demographics"].items():
        options = cb.variable(var).options
        codes = np.array([o.code for o in options])
        columns[var] = codes[_choice_indices(rng, columns["sector"], table)]
    groups = pd.Index(columns["resp_group"])
    skipped = {
        var.name: groups.isin(var.skipped_for_groups)
        for var in cb.variables
        if var.skipped_for_groups
    }
    return columns, skipped


def _choice_indices(
    rng: np.random.Generator, sectors: np.ndarray, table: dict[str, list[float]]
) -> np.ndarray:
    """Option index of each respondent, drawn with the probabilities of their sector.

    The same draws as `rng.choice(options, p=...)` respondent after respondent: that takes one
    uniform number each and looks it up in the normalised cumulative probabilities.
    """
    uniform = rng.random(len(sectors))
    index = np.empty(len(sectors), dtype=np.int64)
    for sector in np.unique(sectors):
        rows = sectors == sector
        cdf = np.asarray(table.get(sector, table["default"]), dtype=np.float64).cumsum()
        cdf /= cdf[-1]
        index[rows] = cdf.searchsorted(uniform[rows], side="right")
    return index


def _scaled_sizes(sizes: dict[str, int], n: int) -> dict[str, int]:
    total = sum(sizes.values())
    exact = {g: k * n / total for g, k in sizes.items()}
    floor = {g: int(np.floor(v)) for g, v in exact.items()}
    short = n - sum(floor.values())
    for g in sorted(exact, key=lambda g: (floor[g] - exact[g], g))[:short]:
        floor[g] += 1
    return floor


@dataclass(frozen=True)
class _Defects:
    """The model's defect counts and rates, scaled to the respondents drawn."""

    rates: dict[str, Any]
    scale: float

    def count(self, key: str) -> int:
        """How many respondents carry a defect (at least one when the model plants any)."""
        return max(1, round(self.rates[key] * self.scale)) if self.rates[key] else 0


def synthesize_export(model: PopulationModel, cb: Codebook, n: int | None = None) -> pd.DataFrame:
    """A Wenjuanxing-style export table (all cells text) with realistic defects.

    Parameters
    ----------
    model
        The population model (its seed fixes every draw).
    cb
        The codebook: columns, answer labels, missing-data markers.
    n
        Respondents before the planted duplicates (default: the model's).

    Returns
    -------
    pandas.DataFrame
        One row per submission, sorted by submission time, every cell text, columns headed as
        the platform heads them.
    """
    # Every draw below is made in the order, and with the calls, it always was: the steps
    # share one generator and are called in the order their draws were made.
    rng = np.random.default_rng([model.seed, 1])
    codes, skipped = _respondent_columns(model, cb, n)
    m = len(codes["resp_group"])
    defects = _Defects(model.raw["defects"], m / model.n)
    roles, attentive = _defect_roles(rng, m, defects)
    items = [v.name for v in cb.likert_items]
    answers, missing_reason = _planted_answers(rng, codes, skipped, cb, items, roles, defects)

    paper = set(roles["paper_forms"].tolist())
    on_paper = np.zeros(m, dtype=bool)
    on_paper[roles["paper_forms"]] = True
    duration = np.exp(
        np.log(model.raw["duration"]["median_seconds"])
        + model.raw["duration"]["log_sd"] * rng.standard_normal(m)
    ).round()
    lo, hi = model.raw["duration"]["speeder_range_seconds"]
    duration[roles["speeders"]] = rng.integers(lo, hi + 1, len(roles["speeders"]))

    table = _answer_table(cb, codes, answers, missing_reason, on_paper)
    _plant_other_role_fill_ins(rng, cb, table, attentive, missing_reason, defects)
    table["suggestions"] = _suggestion_cells(rng, model, cb, m, defects)
    paper_sorted = sorted(paper)
    likert_cols = items
    for j, i in enumerate(paper_sorted[: defects.count("out_of_range_codes")]):
        col = likert_cols[int(rng.integers(len(likert_cols)))]
        table[col][i] = KEYING_ERRORS[j % len(KEYING_ERRORS)]

    start = datetime.fromisoformat(model.raw["fieldwork"]["start"])
    rows, submitted, seconds = _submissions(
        rng, model, table, duration, paper, on_paper, attentive, defects
    )
    out: dict[str, Any] = {}
    for var in cb.export_variables:
        if var.name == "submission_no":
            out[var.header] = [str(k) for k in range(1, len(rows) + 1)]
        elif var.name == "submitted_at":
            out[var.header] = _wjx_times(start, submitted)
        elif var.name == "duration_s":
            out[var.header] = [f"{s}秒" for s in seconds.tolist()]
        else:
            out[var.header] = table[var.name][rows]
    return pd.DataFrame(out).astype(str)


def _defect_roles(
    rng: np.random.Generator, m: int, defects: _Defects
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Which respondents speed, straight-line, fail the check or answer on paper; the rest."""
    order = rng.permutation(m)
    cursor = 0
    roles: dict[str, np.ndarray] = {}
    for key in ("speeders", "straight_liners", "attention_failures", "paper_forms"):
        k = defects.count(key)
        roles[key] = np.sort(order[cursor : cursor + k])
        cursor += k
    attentive = np.sort(order[cursor:])
    return roles, attentive


def _planted_answers(
    rng: np.random.Generator,
    codes: dict[str, np.ndarray],
    skipped: dict[str, np.ndarray],
    cb: Codebook,
    items: list[str],
    roles: dict[str, np.ndarray],
    defects: _Defects,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Answer codes with careless answers and unanswered items planted; why a cell is missing.

    `codes` and `skipped` are `_respondent_columns`: a skipped cell's code is 0 here.
    """
    check = cb.attention_checks[0]
    check_codes = [o.code for o in check.options if o.code != check.expected_code]
    # Why a cell has no answer is kept beside the codes (`missing`: the reason, or None), so
    # no code is reserved.
    answers: dict[str, np.ndarray] = {}
    missing_reason: dict[str, np.ndarray] = {}
    for name, values in codes.items():
        if name in ("resp_group", "sector"):
            continue
        answers[name] = values.astype(np.int64)
        missing_reason[name] = np.full(len(values), None, dtype=object)
        if name in skipped:
            answers[name][skipped[name]] = 0
            missing_reason[name][skipped[name]] = SKIPPED
    likert = np.column_stack([answers[name] for name in items])
    for i in roles["speeders"]:
        likert[i] = rng.integers(1, 6, len(items))
    for i in roles["straight_liners"]:
        likert[i] = rng.choice([3, 4, 5])
        answers["satisfaction"][i] = likert[i, 0]
    for i in roles["attention_failures"]:
        answers[check.name][i] = rng.choice(check_codes)

    cells = np.column_stack([likert, answers["satisfaction"]])
    missing = rng.random(cells.shape) < defects.rates["item_nonresponse_rate"]
    for j, name in enumerate([*items, "satisfaction"]):
        answers[name] = cells[:, j]
        missing_reason[name][missing[:, j]] = UNANSWERED
    return answers, missing_reason


def _answer_table(
    cb: Codebook,
    codes: dict[str, np.ndarray],
    answers: dict[str, np.ndarray],
    missing_reason: dict[str, np.ndarray],
    on_paper: np.ndarray,
) -> dict[str, np.ndarray]:
    """The answer cells as the platform writes them, one array per answered variable."""
    m = len(on_paper)
    table: dict[str, np.ndarray] = {}
    for var in cb.export_variables:
        if var.kind in ("platform", "free_text") or var.role == "respondent_group":
            continue
        table[var.name] = _answer_texts(
            var, answers[var.name], on_paper, missing_reason[var.name], cb
        )
    group_var = cb.respondent_group
    group_code = {o.id: o.code for o in group_var.options}
    groups = np.array([group_code[g] for g in codes["resp_group"]], dtype=np.int64)
    table[group_var.name] = _answer_texts(group_var, groups, on_paper, np.full(m, None), cb)
    return table


def _plant_other_role_fill_ins(
    rng: np.random.Generator,
    cb: Codebook,
    table: dict[str, np.ndarray],
    attentive: np.ndarray,
    missing_reason: dict[str, np.ndarray],
    defects: _Defects,
) -> None:
    """Write an 'other' role with its fill-in text for some attentive respondents."""
    fill_in_candidates = attentive[missing_reason["role"][attentive] == None]  # noqa: E711
    for i in rng.choice(fill_in_candidates, defects.count("other_role_fill_ins"), replace=False):
        other = next(o for o in cb.variable("role").options if o.fill_in)
        left, right = cb.fill_in_brackets
        table["role"][i] = f"{other.zh}{left}{rng.choice(OTHER_ROLE_TEXTS)}{right}"


def _suggestion_cells(
    rng: np.random.Generator, model: PopulationModel, cb: Codebook, m: int, defects: _Defects
) -> np.ndarray:
    """The free-text suggestions, a few with a phone number or another identifier typed in."""
    writers = rng.choice(m, defects.count("suggestions"), replace=False)
    suggestions = np.full(
        m, _missing_cell(cb, cb.variable("suggestions"), UNANSWERED), dtype=object
    )
    # one rng.choice(SUGGESTIONS) per writer, as one draw of as many integers
    suggestions[writers] = np.array(SUGGESTIONS, dtype=object)[
        rng.integers(0, len(SUGGESTIONS), len(writers))
    ]
    for i in writers[: defects.count("phone_numbers_in_text")]:
        phone = "1" + str(rng.choice([3, 5, 8])) + "".join(map(str, rng.integers(0, 10, 9)))
        suggestions[i] = f"希望有关部门重视，我的电话{phone}，欢迎联系。"
    # Other identifiers people type into free text; drawn from their own stream so that adding
    # them left every other cell of the export as it was.
    id_rng = np.random.default_rng([model.seed, 2])
    first = defects.count("phone_numbers_in_text")
    planted = writers[first : first + defects.rates.get("identifiers_in_text", 0)]
    for k, i in enumerate(planted):
        suggestions[i] = _identifier_sentence(k, id_rng)
    return suggestions


def _submissions(
    rng: np.random.Generator,
    model: PopulationModel,
    table: dict[str, np.ndarray],
    duration: np.ndarray,
    paper: set[int],
    on_paper: np.ndarray,
    attentive: np.ndarray,
    defects: _Defects,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Submission times, sources and duplicates: the rows in submission order, times, seconds.

    Writes each row's source, source detail and IP address into `table`.
    """
    start = datetime.fromisoformat(model.raw["fieldwork"]["start"])
    end = datetime.fromisoformat(model.raw["fieldwork"]["end"])
    span = (end - start).total_seconds()
    m = len(on_paper)
    # seconds after the start of fieldwork (int() of a non-negative draw: its floor)
    submitted = np.sort(rng.uniform(0, span, m).astype(np.int64))
    seconds = duration.astype(int)
    paper_order = list(paper)  # one rng.integers(150, 400) per paper form, in set order
    seconds[paper_order] = rng.integers(150, 400, len(paper_order))
    online = np.flatnonzero(~on_paper)
    table["source"] = _draws_or(on_paper, SOURCE_PAPER, SOURCES_ONLINE, rng)
    table["source_detail"] = _draws_or(on_paper, "-", ("直接访问", "微信群分享", "朋友圈"), rng)
    ip = np.full(m, "-", dtype=object)
    ip[online] = [_ip(rng) for _ in online]
    table["source_ip"] = ip

    dup_sources = rng.choice(attentive, defects.count("duplicate_submissions"), replace=False)
    rows = np.concatenate([np.arange(m), dup_sources])
    submitted = np.concatenate(
        [submitted, submitted[dup_sources] + rng.integers(60, 900, len(dup_sources))]
    )
    seconds = np.concatenate([seconds, rng.integers(200, 600, len(dup_sources))])
    order = np.argsort(submitted, kind="stable")
    return rows[order], submitted[order], seconds[order]


def _answer_texts(
    var: Variable, codes: np.ndarray, on_paper: np.ndarray, reason: np.ndarray, cb: Codebook
) -> np.ndarray:
    """`_answer_text` of each respondent's code (paper forms keyed as codes), and the cell the
    codebook declares for the `reason` (None: answered) a cell has no answer: object array."""
    texts = np.empty(len(codes), dtype=object)
    answered = np.asarray(reason == None, dtype=bool)  # noqa: E711 (elementwise)
    for paper in (False, True):
        rows = (on_paper == paper) & answered
        distinct, where = np.unique(codes[rows], return_inverse=True)
        labels = np.array(
            [_answer_text(var, int(c), as_code=paper) for c in distinct], dtype=object
        )
        texts[rows] = labels[where]
    for why in set(reason[~answered]):
        texts[reason == why] = _missing_cell(cb, var, why)
    return texts


def _draws_or(fixed: np.ndarray, text: str, choices: tuple[str, ...], rng: np.random.Generator):
    """`text` where `fixed`, else one `rng.choice(choices)` per row, in row order."""
    out = np.full(len(fixed), text, dtype=object)
    rows = np.flatnonzero(~fixed)
    out[rows] = np.array(choices, dtype=object)[rng.integers(0, len(choices), len(rows))]
    return out


def _wjx_times(start: datetime, seconds: np.ndarray) -> list[str]:
    """`_wjx_time` of `start` plus each number of seconds."""
    times = pd.DatetimeIndex(np.datetime64(start, "s") + seconds.astype("timedelta64[s]"))
    parts = (times.year, times.month, times.day, times.hour, times.minute, times.second)
    return [
        f"{y}/{mo}/{d} {h}:{mi:02d}:{s:02d}"
        for y, mo, d, h, mi, s in zip(*(p.tolist() for p in parts), strict=True)
    ]


def _id_card_number(rng: np.random.Generator) -> str:
    """An 18-digit resident ID number (Beijing prefix) with a valid GB 11643 check digit."""
    from hazegov.privacy.identifiers import id_card_check_digit

    year, month, day = (int(rng.integers(lo, hi)) for lo, hi in ((1960, 1995), (1, 13), (1, 29)))
    born = f"{year}{month:02d}{day:02d}"
    body = "1101" + f"{int(rng.integers(1, 20)):02d}" + born + f"{int(rng.integers(0, 1000)):03d}"
    return body + id_card_check_digit(body)


def _identifier_sentence(k: int, rng: np.random.Generator) -> str:
    """The k-th kind of direct identifier, as respondents write it into a suggestion."""
    surname = str(rng.choice(["王", "李", "张", "刘", "陈"]))
    given = str(rng.choice(["伟", "芳", "敏", "静", "磊", "洋"]))
    digits = "".join(map(str, rng.integers(0, 10, 8)))
    kinds = (
        lambda: f"我叫{surname}{given}{given}，在丰台区工作，有问题可以找我。",
        lambda: f"身份证号{_id_card_number(rng)}，可核实我的身份。",
        lambda: f"欢迎来信 haze.{digits[:4]}@example.cn 交流。",
        lambda: f"可以加我微信：bj_haze{digits[:5]}，一起讨论。",
        lambda: f"办公电话010-{digits}，工作日可联系。",
        lambda: f"我的微信号wxid_{digits}ab，欢迎联系。",
    )
    return kinds[k % len(kinds)]()


def _missing_cell(cb: Codebook, var: Variable, reason: str) -> str:
    """The cell the platform writes for a `var` answer missing for `reason`, as the codebook
    declares it (a visible marker such as "(空)" before a blank cell)."""
    declared = [m for m in var.missing if m.reason == reason]
    if not declared:
        raise CodebookError(
            [
                Violation(
                    cb.path,
                    "missing-marker-for-generator",
                    f"the codebook declares no missing marker with reason {reason!r} for "
                    f"{var.name}; the generator writes its {reason} cells with one",
                )
            ]
        )
    return next((m.cell for m in declared if m.cell), declared[0].cell)


def _answer_text(var: Variable, code: int, *, as_code: bool) -> str:
    if as_code:
        return str(code)
    return next(o.zh for o in var.options if o.code == code)


def _ip(rng: np.random.Generator) -> str:
    first = int(rng.choice([61, 106, 114, 123, 124, 202, 221]))
    octets = [first, *rng.integers(0, 256, 3).tolist()]
    return ".".join(map(str, octets)) + "(北京-北京)"


def _wjx_time(t: datetime) -> str:
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}"


def write_export(table: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """Write the export in one of the platform's download formats, byte-reproducibly."""
    path = Path(path)
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {EXPORT_FORMATS}")
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            tmp.write_bytes(_xlsx_bytes(table))
        else:
            encoding = "utf-8-sig" if fmt == "csv-utf8" else "gb18030"
            table.to_csv(tmp, index=False, encoding=encoding, lineterminator="\r\n")


def _xlsx_bytes(table: pd.DataFrame) -> bytes:
    """XLSX with fixed document times and zip entry dates, so the bytes do not depend on the day."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(list(table.columns))
    for row in table.itertuples(index=False):
        ws.append(list(row))
    fixed = datetime(2016, 6, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "hazegov synthetic generator"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_core_times(data)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    return out.getvalue()


def _fixed_core_times(xml: bytes) -> bytes:
    import re

    return re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2016-06-01T00:00:00Z", xml)


def provenance_record(
    export: Path, model: PopulationModel, cb: Codebook, fmt: str, n: int
) -> dict[str, Any]:
    """What the sidecar says: this export is synthetic, and how to make it again."""
    return {
        "synthetic": True,
        "generator": f"hazegov {__version__}",
        "export_file": export.name,
        "export_sha256": sha256_file(export),
        "format": fmt,
        "n_respondents": n,
        "seed": model.seed,
        "population_model": Path(model.path).name,
        "population_model_sha256": sha256_file(Path(model.path)),
        "codebook": Path(cb.path).name,
        "codebook_sha256": sha256_file(Path(cb.path)),
        "notice": (
            "Synthetic data drawn from the project's stated population model; "
            "not responses of real people."
        ),
    }


def sidecar_path(export: str | Path) -> Path:
    export = Path(export)
    return export.with_name(export.name + ".synthetic.json")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def generate(
    codebook_path: str | Path,
    population_path: str | Path,
    out: str | Path,
    fmt: str = "csv-utf8",
    n: int | None = None,
) -> Path:
    """Draw, write the export and its synthetic-data sidecar; returns the export path.

    A latent-scale population model (``form: latent_scales``) of any other questionnaire is
    drawn by `hazegov.survey.synthetic_general` as a Qualtrics-style CSV (`fmt` must be csv-utf8).
    """
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.synthetic_general import generate as generate_any
    from hazegov.survey.synthetic_general import is_scale_model

    if is_scale_model(population_path):
        if fmt != "csv-utf8":
            raise ValueError(
                f"a latent-scale population model is written as a Qualtrics-style CSV "
                f"(csv-utf8), not {fmt!r}"
            )
        return generate_any(codebook_path, population_path, out, n)

    cb = load_codebook(codebook_path)
    model = load_population_model(population_path, cb)
    table = synthesize_export(model, cb, n)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_export(table, out, fmt)
    record = provenance_record(out, model, cb, fmt, n or model.n)
    with atomic_path(sidecar_path(out)) as tmp:
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def expected_item_code(model: PopulationModel, cb: Codebook, item: str, sector: str) -> float:
    """Population mean answer code of an item in a respondent sector, as coded in the export.

    The latent response of the item is normal with unit variance around
    sign * loading * (construct mean of the sector) + intercept, so the expected code is
    1 + sum_k P(y* > t_k) over the thresholds t_k.
    """
    from scipy.stats import norm

    var = cb.variable(item)
    lam = float(model.raw["loadings"][item])
    sign = -1.0 if var.reverse else 1.0
    mean = sign * lam * construct_mean(model, var.construct, sector) + model.intercept(item)  # type: ignore[arg-type]
    return float(1 + norm.cdf(mean - np.asarray(model.raw["thresholds"], dtype=float)).sum())


def construct_mean(model: PopulationModel, construct: str, sector: str) -> float:
    """Latent mean of a construct in a respondent sector (EFF through the structural model)."""
    shifts = model.raw["sector_mean_shifts"][sector]
    if construct != "EFF":
        return float(shifts.get(construct, 0.0))
    return float(
        shifts.get("EFF", 0.0) + sum(b * shifts.get(c, 0.0) for c, b in model.beta.items())
    )


def expected_score(model: PopulationModel, cb: Codebook, construct: str, sector: str) -> float:
    """Population mean of a construct's mean score (reverse items reversed) in a sector."""
    values = []
    for item in cb.construct(construct).items:
        var = cb.variable(item)
        lo, hi = var.valid_range  # type: ignore[misc]
        code = expected_item_code(model, cb, item, sector)
        values.append(lo + hi - code if var.reverse else code)
    return float(np.mean(values))


def latent_construct_covariance(model: PopulationModel) -> pd.DataFrame:
    """Within-sector covariance (= correlation) matrix of all six constructs, EFF included."""
    exo = model.exogenous
    phi = model.phi
    b = np.array([model.beta.get(c, 0.0) for c in exo])
    cov_eff = phi @ b
    full = np.block([[phi, cov_eff[:, None]], [cov_eff[None, :], np.ones((1, 1))]])
    names = [*exo, "EFF"]
    return pd.DataFrame(full, index=names, columns=names)


def latent_score_regression(
    model: PopulationModel, cb: Codebook, outcome: str, predictors: list[str]
) -> dict[str, float]:
    """Population OLS slopes of one mean score on others, computed from continuous responses.

    A construct's mean score over its (sign-corrected) latent responses has covariance
    lbar_c lbar_d cov(c, d) with another construct's score and variance lbar_c^2 + mean of the
    unique variances / k; the population slopes are Sigma_xx^-1 sigma_xy within a sector.
    """
    cov = latent_construct_covariance(model)

    def lbar(c: str) -> float:
        return float(np.mean([model.raw["loadings"][i] for i in cb.construct(c).items]))

    def unique(c: str) -> float:
        items = cb.construct(c).items
        return float(sum(1 - model.raw["loadings"][i] ** 2 for i in items) / len(items) ** 2)

    def score_cov(c: str, d: str) -> float:
        value = lbar(c) * lbar(d) * float(cov.loc[c, d])
        return value + unique(c) if c == d else value

    sxx = np.array([[score_cov(c, d) for d in predictors] for c in predictors])
    sxy = np.array([score_cov(c, outcome) for c in predictors])
    return dict(zip(predictors, np.linalg.solve(sxx, sxy).tolist(), strict=True))
