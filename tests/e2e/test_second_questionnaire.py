"""Issue 14, point 7: a second questionnaire builds end to end with only its codebook and config.

The questionnaire is tests/fixtures/second_questionnaire/ (English only; a 7-point scale coded
-3..+3 with a declared "don't know" code, a 3-point and a 5-point scale, a 6-item scale, a
scale without reverse-worded items, a question shown to one experimental arm, a Qualtrics
export with three header rows and many unused columns). The project's generator draws its
export into a fresh working directory that holds nothing else of the haze study; Snakemake
builds the analysis strand there, and the estimates are compared with the population.

How close is close enough. Each estimate is compared with its population value within four
standard errors: the standard error the analysis itself reports (the CFA's delta-method SE of
a standardized loading, the HC3 SE of an OLS slope, the SEM's SE of a standardized path, the
confidence interval of alpha, sd / sqrt(n) of a group mean), widened by the Monte Carlo error
of the reference where it comes from a large draw (a factor sqrt(1 + n / N_REFERENCE)). Four
standard errors leave a false alarm probability of 6e-5 per comparison, under 0.5 % for the
~60 comparisons together, while a wrong sign, a lost reverse coding, a lost negative code or a
scale read on the wrong range moves an estimate by far more than four standard errors.

Population values of the coded answers. The analyses treat the answer codes as numbers, so
their population values are those of the coded answers, not of the continuous latent
responses: a standardized loading is the correlation of an item's code with its true factor,
alpha and the OLS slopes are those of the coded mean scores. These are computed on a large
independent draw (`N_REFERENCE` respondents, another seed) from the same population model,
where the true factor values are known. The structural paths of the latent-variable model
are the model's own coefficients, turned into the standardized coefficients of the pooled
sample (sector mean differences add between-sector covariance) by `pooled_paths`.

The missing-data rule is listwise here: the "don't know" and unanswered cells are missing
completely at random, so listwise deletion leaves every estimate unbiased, whereas the person
mean would fill 4 % of the 7-point scale's cells with values that raise its inter-item
correlations (a known bias of that rule, not what this test is about).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.survey.codebook import load_codebook
from hazegov.survey.synthetic import generate
from hazegov.survey.synthetic_general import ScaleModel, draw_answers, draw_latent, load_scale_model
from tests.support.paths import FIXTURES, ROOT

pytestmark = pytest.mark.e2e
FIXTURE = FIXTURES / "second_questionnaire"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
EXPORT = "data/raw/second_questionnaire.csv"
N_REFERENCE = 100_000
Z = 4.0
# What the build of this questionnaire must make, by strand. The generated report (issue 14,
# built as its own Snakemake target) adds its entry here, e.g. "report": ["results/report/..."].
TARGETS: dict[str, list[str]] = {
    "analysis": [
        "results/interim/ingest_report.json",
        "results/interim/data_quality.csv",
        "results/processed/participant_flow.csv",
        "results/analysis/measurement/reliability_variables.yml",
        "results/analysis/measurement/factor_variables.yml",
        "results/analysis/cfa/variables.yml",
        "results/analysis/invariance/variables.yml",
        "results/analysis/path_model/variables.yml",
        "results/analysis/groups/variables.yml",
        "results/analysis/regression/variables.yml",
        "results/release/second_questionnaire_release.csv",
        "results/release/second_questionnaire_release.sav",
        "results/release/data_dictionary.csv",
        "results/tables/free_text_answers.csv",
    ],
    # the results report for any questionnaire, generated from the codebook (issue 14.6)
    "report": [
        "results/report/_variables.yml",
        "results/report/_output/index.html",
    ],
}
# Export columns the codebook ignores (ignore_columns): no output may hold them.
IGNORED_COLUMNS = ("IPAddress", "LocationLatitude", "LocationLongitude", "RecipientEmail")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A working directory with only the codebook, config.yaml and the generated export, built."""
    work = tmp_path_factory.mktemp("second_questionnaire")
    (work / "config").mkdir()
    shutil.copy(FIXTURE / "codebook.yaml", work / "config" / "codebook.yaml")
    shutil.copy(FIXTURE / "config.yaml", work / "config" / "config.yaml")
    generate(work / "config" / "codebook.yaml", FIXTURE / "population_model.yaml", work / EXPORT)
    targets = [t for strand in TARGETS.values() for t in strand]
    run = subprocess.run(
        [*SNAKEMAKE, "--directory", str(work), "--cores", "2", *targets],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return work


@pytest.fixture(scope="module")
def cb():
    return load_codebook(FIXTURE / "codebook.yaml")


@pytest.fixture(scope="module")
def model(cb) -> ScaleModel:
    return load_scale_model(FIXTURE / "population_model.yaml", cb)


@pytest.fixture(scope="module")
def reference(model, cb) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A large independent draw: latent values and coded answers of the same respondents."""
    other = ScaleModel(model.path, {**model.raw, "seed": model.seed + 1})
    return draw_latent(other, cb, N_REFERENCE), draw_answers(other, cb, N_REFERENCE)


@pytest.fixture(scope="module")
def export(built) -> pd.DataFrame:
    """The generated export's responses (header rows 2 and 3 skipped), all cells text."""
    return pd.read_csv(built / EXPORT, skiprows=[1, 2], dtype=str, keep_default_na=False)


def _widen(se: float, n: int) -> float:
    return Z * se * np.sqrt(1 + n / N_REFERENCE)


def _scores(answers: pd.DataFrame, cb, construct: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean score (reverse-worded items reversed on their own range) and the item matrix."""
    columns = []
    for item in cb.construct(construct).items:
        var = cb.variable(item)
        lo, hi = var.valid_range
        x = answers[item].to_numpy(dtype=float, na_value=np.nan)  # NaN: not shown
        columns.append(lo + hi - x if var.reverse else x)
    matrix = np.column_stack(columns)
    return matrix.mean(axis=1), matrix


def pooled_paths(model: ScaleModel, cb, paths: list[list[str]]) -> dict[tuple[str, str], float]:
    """Standardized coefficients of the path model's equations in the pooled population.

    Within a sector the factors have the model's covariance; the sectors' mean differences
    add their between-sector covariance (shares of the population's group sizes).
    """
    within = model.construct_covariance()
    names = list(within.index)
    shares: dict[str, float] = {}
    for group, size in model.raw["group_sizes"].items():
        sector = cb.group_sector()[group]
        shares[sector] = shares.get(sector, 0.0) + size / model.n
    means = pd.DataFrame(
        {s: [model.construct_mean(c, s) for c in names] for s in shares}, index=names
    ).T
    grand = sum(shares[s] * means.loc[s] for s in shares)
    between = sum(shares[s] * np.outer(means.loc[s] - grand, means.loc[s] - grand) for s in shares)
    cov = within.to_numpy() + between
    sd = np.sqrt(np.diag(cov))
    corr = pd.DataFrame(cov / np.outer(sd, sd), index=names, columns=names)
    out = {}
    for outcome in dict.fromkeys(o for o, _ in paths):
        predictors = [p for o, p in paths if o == outcome]
        slopes = np.linalg.solve(
            corr.loc[predictors, predictors].to_numpy(), corr.loc[predictors, outcome].to_numpy()
        )
        out.update({(outcome, p): float(b) for p, b in zip(predictors, slopes, strict=True)})
    return out


@pytest.mark.parametrize("target", [t for strand in TARGETS.values() for t in strand])
def test_every_target_of_the_strands_is_built(built, target):
    assert (built / target).is_file()
    assert (built / target).stat().st_size > 0


def test_the_working_directory_holds_only_codebook_config_and_export(built):
    config = sorted(p.name for p in (built / "config").iterdir())
    assert config == ["codebook.yaml", "config.yaml"]
    assert sorted(p.name for p in (built / "data" / "raw").iterdir()) == [
        "second_questionnaire.csv",
        "second_questionnaire.csv.synthetic.json",
    ]


def test_standardized_loadings_are_those_of_the_population(built, cb, reference):
    latent, answers = reference
    loadings = pd.read_csv(built / "results/analysis/cfa/loadings.csv")
    # respondents shown every item (the NORM block is shown to one arm only)
    n = int(pd.read_csv(built / "results/analysis/cfa/fit.csv")["n"].iloc[0])
    assert len(loadings) == len(cb.likert_items)
    for row in loadings.itertuples():
        shown = answers[row.item].notna().to_numpy()  # the NORM block: arm 2 only
        x = answers[row.item].to_numpy(dtype=float, na_value=np.nan)[shown]
        truth = np.corrcoef(x, latent[f"eta_{row.construct}"].to_numpy()[shown])[0, 1]
        # a reverse-worded item correlates negatively with its factor; the scale reverses it
        assert truth < 0 if cb.variable(row.item).reverse else truth > 0
        assert abs(row.std_estimate - abs(truth)) < _widen(row.std_se, n), (row.item, truth)


def test_alpha_is_that_of_the_population(built, cb, reference):
    _latent, answers = reference
    scales = pd.read_csv(built / "results/analysis/measurement/scale_reliability.csv")
    assert sorted(scales["construct"]) == sorted(c.id for c in cb.constructs)
    for row in scales.itertuples():
        _score, items = _scores(answers, cb, row.construct)
        items = items[np.isfinite(items).all(axis=1)]  # those shown the scale
        k = items.shape[1]
        cov = np.cov(items.T)
        truth = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
        se = (row.alpha_pairwise_ci_upper - row.alpha_pairwise_ci_lower) / (2 * 1.959964)
        assert abs(row.alpha_pairwise - truth) < _widen(se, row.n), (row.construct, truth)
    assert {row.construct: row.k for row in scales.itertuples()}["TRUST"] == 6


def test_ols_slopes_are_those_of_the_population(built, cb, reference):
    _latent, answers = reference
    coefficients = pd.read_csv(built / "results/analysis/regression/ols_coefficients.csv")
    config = yaml.safe_load((FIXTURE / "config.yaml").read_text(encoding="utf-8"))
    regression = config["analysis"]["regression"]
    columns = {"const": np.ones(len(answers))}
    for construct in regression["predictors"]:
        columns[f"score_{construct}"] = _scores(answers, cb, construct)[0]
    for sector in ("business", "civil_society"):  # government is the reference level
        columns[f"sector[T.{sector}]"] = (answers["sector"] == sector).astype(float).to_numpy()
    columns["gender[T.2]"] = (answers["gender"] == 2).astype(float).to_numpy()
    columns["age_band"] = answers["age_band"].astype(float).to_numpy()
    design = np.column_stack(list(columns.values()))
    outcome = _scores(answers, cb, regression["outcome"])[0]
    shown = np.isfinite(design).all(axis=1) & np.isfinite(outcome)  # NORM: arm 2 only
    slopes = np.linalg.lstsq(design[shown], outcome[shown], rcond=None)[0]
    truth = dict(zip(columns, slopes, strict=True))
    fitted = coefficients.set_index("column")
    assert sorted(fitted.index) == sorted(truth)
    n = int(fitted["df"].iloc[0]) + len(truth)
    for column, value in truth.items():
        got = fitted.loc[column]
        assert abs(got["b"] - value) < _widen(got["se"], n), (column, got["b"], value)


def test_structural_paths_are_the_population_model(built, model, cb):
    config = yaml.safe_load((FIXTURE / "config.yaml").read_text(encoding="utf-8"))
    truth = pooled_paths(model, cb, config["analysis"]["path_model"]["paths"])
    paths = pd.read_csv(built / "results/analysis/path_model/path_coefficients.csv")
    assert len(paths) == len(truth)
    for row in paths.itertuples():
        value = truth[(row.outcome, row.predictor)]
        # the model's own coefficients; the SEM corrects for measurement error, so no
        # Monte Carlo reference is involved
        assert abs(row.std_estimate - value) < Z * row.std_se, (row.outcome, row.predictor)


def test_group_means_are_those_of_the_population(built, cb, reference):
    _latent, answers = reference
    descriptives = pd.read_csv(built / "results/analysis/groups/descriptives.csv")
    for row in descriptives.itertuples():
        score = _scores(answers, cb, row.outcome)[0]
        truth = float(np.nanmean(score[(answers["sector"] == row.group).to_numpy()]))
        assert abs(row.mean - truth) < _widen(row.sd / np.sqrt(row.n), row.n), (
            row.outcome,
            row.group,
            truth,
        )
    # the population's ordering of the sectors on trust is recovered (civil society lowest)
    trust = descriptives[descriptives["outcome"] == "TRUST"].set_index("group")["mean"]
    assert trust["civil_society"] < trust["business"] < trust["government"]


def test_items_not_shown_are_not_applicable_not_missing(built, export, cb):
    report = json.loads((built / "results/interim/ingest_report.json").read_text("utf-8"))
    not_shown = int((export["arm"] == "1").sum())
    assert 0 < not_shown < len(export)
    by_item = report["missing_cells_by_item"]
    assert by_item["info_recall"] == {"not_shown": not_shown}
    for item in cb.construct("NORM").items:
        assert by_item[item]["not_shown"] == not_shown
        # seen but unanswered is counted apart, among the arm shown the block only
        shown_cells = export.loc[export["arm"] == "2", cb.variable(item).header]
        assert by_item[item]["unanswered"] == (shown_cells == "-99").sum()
    flow = pd.read_csv(built / "results/processed/participant_flow.csv").set_index("step")
    # the control arm never saw the block: nobody is excluded for leaving it empty
    assert flow.loc["item_nonresponse", "excluded"] == 0
    # nor dropped by the listwise rule: the NORM analyses rest on the arm shown it, the
    # others on everyone
    missing = json.loads((built / "results/analysis/missing_data.json").read_text("utf-8"))
    analysed = pd.read_parquet(built / "results/analysis/analysis_sample.parquet")
    assert len(analysed) == missing["n_after"]
    arm_one = int((analysed["arm"] == 1).sum())
    assert 0 < arm_one < len(analysed)
    assert missing["not_shown_by_variable"] == dict.fromkeys(cb.construct("NORM").items, arm_one)
    assert missing["n_shown_by_construct"]["NORM"] == len(analysed) - arm_one
    assert missing["n_shown_by_construct"]["TRUST"] == len(analysed)
    scales = pd.read_csv(built / "results/analysis/measurement/scale_reliability.csv")
    assert dict(zip(scales["construct"], scales["n"], strict=True)) == {
        **missing["n_shown_by_construct"]
    }


def test_negative_codes_and_declared_missing_codes_are_kept_apart(built, export, cb):
    report = json.loads((built / "results/interim/ingest_report.json").read_text("utf-8"))
    assert report["out_of_range_cells"] == 0
    quality = pd.read_csv(built / "results/interim/data_quality.csv")
    responses = pd.read_parquet(built / "results/interim/responses.parquet")
    for item in cb.construct("TRUST").items:
        header = cb.variable(item).header
        cells = export[header]
        counted = quality[(quality["variable"] == item)].set_index("reason")["cells"]
        assert counted["dont_know"] == (cells == "-8").sum() > 0
        assert counted["unanswered"] == (cells == "-99").sum() > 0
        read = responses[item].value_counts()
        for code in range(-3, 4):  # every answer, negative ones included, read as written
            assert read.get(code, 0) == (cells == str(code)).sum(), (item, code)
        assert (cells.isin(["-3", "-2", "-1"])).sum() > 0


def test_exclusions_find_the_planted_defects(built, model):
    flow = pd.read_csv(built / "results/processed/participant_flow.csv").set_index("step")
    defects = model.raw["defects"]
    assert flow.loc["attention_check", "excluded"] == defects["attention_failures"]
    assert flow.loc["min_duration", "excluded"] == defects["speeders"]


def _output_files(built: Path) -> list[Path]:
    return [p for root in ("results", "logs") for p in (built / root).rglob("*") if p.is_file()]


def test_no_ignored_column_reaches_any_output(built, export):
    files = _output_files(built)
    assert files
    # IP addresses are dotted quads no table holds by chance: not one may appear anywhere
    addresses = set(export["IPAddress"])
    assert len(addresses) > len(export) // 2
    pattern = re.compile(
        r"(?<![\d.])(?:" + "|".join(re.escape(a) for a in sorted(addresses)) + r")(?![\d.])"
    )
    for path in files:
        hit = pattern.search(path.read_bytes().decode("utf-8", errors="replace"))
        assert hit is None, (path, hit and hit.group())
    # nor any column of an ignored export column, under its own name
    for path in files:
        if path.suffix == ".parquet":
            assert not set(pd.read_parquet(path).columns) & set(IGNORED_COLUMNS), path
        elif path.suffix == ".csv":
            header = pd.read_csv(path, nrows=0).columns
            assert not set(header) & set(IGNORED_COLUMNS), path


def test_the_build_prints_english_only(built):
    cjk = re.compile(r"[\u3400-\u9fff]")
    for path in (
        built / "results/release/data_dictionary.csv",
        *(built / "results/paper/tables").glob("*.md"),
    ):
        assert not cjk.search(path.read_text("utf-8")), path
    dictionary = pd.read_csv(built / "results/release/data_dictionary.csv")
    assert "label_zh" not in dictionary.columns


def test_the_export_is_drawn_again_byte_for_byte(built, tmp_path):
    again = generate(
        FIXTURE / "codebook.yaml", FIXTURE / "population_model.yaml", tmp_path / "export.csv"
    )
    digest = hashlib.sha256(again.read_bytes()).hexdigest()
    assert digest == hashlib.sha256((built / EXPORT).read_bytes()).hexdigest()


def test_the_generated_report_describes_this_questionnaire(built, cb):
    """The results report (issue 14.6) is generated from this codebook alone: each scale under
    its own label, its alpha as the reliability output gives it, and the sample's n."""
    variables = yaml.safe_load((built / "results/report/_variables.yml").read_text("utf-8"))
    html = (built / "results/report/_output/index.html").read_text("utf-8")
    reliability = pd.read_csv(built / "results/analysis/measurement/scale_reliability.csv")
    flow = pd.read_csv(built / "results/processed/participant_flow.csv")
    for construct in cb.constructs:
        assert construct.en in html
        row = reliability.set_index("construct").loc[construct.id]
        assert variables["reliability"][construct.id]["alpha"] == f"{row['alpha_listwise']:.2f}"
    analysed = int(flow.loc[flow["step"] == "analysed", "remaining"].iloc[0])
    assert variables["missing"]["n_before"] == analysed
    assert "haze" not in html.lower() and "Beijing" not in html
