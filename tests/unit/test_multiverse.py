"""The multiverse of the key estimates: grid, dimensions, estimators, summary, failures."""

from __future__ import annotations

import copy
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.errors import ConfigError
from hazegov.robustness.multiverse import (
    DIMENSIONS,
    LATENT,
    SAMPLE_DIMENSIONS,
    STATUS_FAILED,
    STATUS_OK,
    build_design,
    estimate_specification,
    gather,
    mark_agreement,
    multiverse_variables,
    ols_hc3_fit,
    ordinal_logit_fit,
    ordinal_outcome,
    preferred_specification,
    prepare_sample,
    run_multiverse_summary,
    run_specification,
    sample_settings,
    sample_variants,
    specification_grid,
    specification_settings,
    summarise,
)
from hazegov.survey.synthetic import (
    draw_latent_responses,
    draw_respondents,
    latent_score_regression,
    load_population_model,
)
from tests.support.paths import DEFAULT_EXPORT, POPULATION, ROOT

PROBLEMS = ["LEAD", "RESP", "EVAL", "PART"]


def _config(folder):
    merged = {}
    for name in ("config.yaml", "multiverse.yaml"):
        merged |= yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    return merged


CONFIG = _config(ROOT / "config")
TEST_CONFIG = _config(ROOT / ".test" / "config")


def _spec(config, **choices):
    """The grid's specification with the preferred choices except those given."""
    settings = config["multiverse"]
    wanted = {**settings["preferred"], **choices}
    if wanted["estimator"] == "sem":
        wanted["scores"] = LATENT
    return next(
        s
        for s in specification_grid(settings)
        if all(s.choices[d] == wanted[d] for d in DIMENSIONS)
    )


@pytest.fixture(scope="module")
def responses(codebook):
    from hazegov.survey.ingest import ingest_export

    return ingest_export(DEFAULT_EXPORT, codebook).responses


_PREPARED: dict = {}


def _prepared(responses, codebook, config=CONFIG, **choices):
    """A sample variant (with the preferred data choices except those given), prepared once
    per test session and data set."""
    spec = _spec(config, **choices)
    variant = {d: spec.choices[d] for d in SAMPLE_DIMENSIONS}
    key = (id(responses), json.dumps(sample_settings(config, variant), sort_keys=True))
    if key not in _PREPARED:
        _PREPARED[key] = prepare_sample(responses, codebook, sample_settings(config, variant))
    return _PREPARED[key]


# --------------------------------------------------------------------------------------- grid


def test_default_grid_size_ids_and_order_are_stable():
    settings = CONFIG["multiverse"]
    grid = specification_grid(settings)
    assert len(grid) == 640 >= 500
    assert [s.id for s in grid] == [f"s{k:04d}" for k in range(1, 641)]
    assert [v.id for v in sample_variants(settings)] == [f"d{k:02d}" for k in range(1, 65)]
    assert specification_grid(copy.deepcopy(settings)) == grid
    # the first and the preferred specification, pinned
    assert grid[0].choices == {
        "attention_check": "exclude",
        "speeders": "none",
        "straight_lining": "exclude",
        "missing_data": "listwise",
        "sectors": "all",
        "estimator": "ols_hc3",
        "scores": "mean",
        "controls": "none",
    }
    assert preferred_specification(settings).id == "s0182"
    # no combination twice; SEM takes no score option, every other model every one
    combos = [tuple(s.choices[d] for d in DIMENSIONS) for s in grid]
    assert len(set(combos)) == len(combos)
    sem = [s for s in grid if s.choices["estimator"] == "sem"]
    assert len(sem) == 128 and {s.choices["scores"] for s in sem} == {LATENT}
    assert {s.choices["scores"] for s in grid if s not in sem} == {"mean", "factor"}
    # each specification's sample variant carries its data choices
    variants = {v.id: v.choices for v in sample_variants(settings)}
    for spec in grid:
        assert variants[spec.sample] == {d: spec.choices[d] for d in SAMPLE_DIMENSIONS}


def test_test_grid_is_small_and_has_every_estimator():
    grid = specification_grid(TEST_CONFIG["multiverse"])
    assert 8 <= len(grid) <= 16
    assert {s.choices["estimator"] for s in grid} == {"ols_hc3", "ordinal_logit", "sem"}


def test_changing_one_option_changes_the_settings_of_exactly_its_specifications():
    def settings_by_spec(config):
        variants = {v.id: v.choices for v in sample_variants(config["multiverse"])}
        return {
            s.id: (
                sample_settings(config, variants[s.sample]),
                specification_settings(config, s),
            )
            for s in specification_grid(config["multiverse"])
        }

    before = settings_by_spec(CONFIG)
    changed = copy.deepcopy(CONFIG)
    speeders = changed["multiverse"]["dimensions"]["speeders"]["options"]
    next(o for o in speeders if o["id"] == "s180")["seconds"] = 200
    after = settings_by_spec(changed)
    differ = {k for k in before if before[k] != after[k]}
    grid = specification_grid(CONFIG["multiverse"])
    assert differ == {s.id for s in grid if s.choices["speeders"] == "s180"}
    # a label is for readers only: no job's settings change
    relabelled = copy.deepcopy(CONFIG)
    relabelled["multiverse"]["dimensions"]["controls"]["options"][0]["label"] = "nothing"
    assert settings_by_spec(relabelled) == before
    # the study's own regression without its demographic controls leaves the grid's control
    # set, which says itself which of its terms are categories, as it was
    reviewed = copy.deepcopy(CONFIG)
    reviewed["analysis"]["regression"].update(controls=["sector"], categorical=["sector"])
    assert settings_by_spec(reviewed) == before


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("preferred", "estimator"), "probit", "preferred option 'probit'"),
        (("dimensions", "scores", "options", 1, "id"), "mean", "option ids repeat"),
        (("dimensions", "controls", "options"), [], "at least one option"),
        (
            ("dimensions", "controls", "options", 1, "categorical"),
            ["sector", "region"],
            r"categorical terms \['region'\] are not among",
        ),
    ],
)
def test_bad_grids_are_refused(path, value, message):
    settings = copy.deepcopy(CONFIG["multiverse"])
    node = settings
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        specification_grid(settings)


# ---------------------------------------------------------------------------- dimensions


def test_each_data_choice_does_what_it_says(responses, codebook):
    base = _prepared(responses, codebook)
    report = base.report
    assert report["n"] == len(base.frame) > 150
    assert all(report["excluded"][k] > 0 for k in ("attention_check", "min_duration"))

    kept = _prepared(responses, codebook, attention_check="keep").report
    assert kept["excluded"]["attention_check"] == 0
    assert kept["n_after_exclusions"] > report["n_after_exclusions"]

    no_time = _prepared(responses, codebook, speeders="none").report
    strict = _prepared(responses, codebook, speeders="s180").report
    assert no_time["excluded"]["min_duration"] == 0
    assert strict["n_after_exclusions"] <= report["n_after_exclusions"]

    lines = _prepared(responses, codebook, straight_lining="keep").report
    assert lines["excluded"]["straight_lining"] == 0

    listwise = _prepared(responses, codebook, missing_data="listwise")
    assert listwise.report["missing_data"]["cells_imputed"] == 0
    assert report["missing_data"]["cells_imputed"] > 0
    assert listwise.report["n"] < report["n"]

    residents = _prepared(responses, codebook, sectors="no_residents")
    assert "community_residents" not in set(residents.frame["sector"])
    n_residents = int((base.frame["sector"] == "community_residents").sum())
    assert n_residents > 0
    assert residents.report["n"] == report["n"] - n_residents
    assert residents.report["n_sectors_left_out"] == n_residents


def test_factor_scores_are_centred_and_carry_the_latent_sds(responses, codebook):
    prepared = _prepared(responses, codebook)
    info = prepared.report["factor_scores"]
    assert info["status"] == STATUS_OK
    scores = prepared.frame[[f"fscore_{c}" for c in [*PROBLEMS, "EFF"]]]
    assert np.allclose(scores.mean(), 0, atol=1e-10)
    assert set(info["latent_sd"]) == {*PROBLEMS, "EFF"}
    # regression scores shrink towards zero: less spread than the latent factor
    for c in PROBLEMS:
        assert scores[f"fscore_{c}"].std() < info["latent_sd"][c]


def test_model_choices_change_the_model(responses, codebook):
    prepared = _prepared(responses, codebook)

    def fit(**choices):
        settings = specification_settings(CONFIG, _spec(CONFIG, **choices))
        record = estimate_specification(prepared.frame, prepared.report, codebook, settings)
        assert record["status"] == STATUS_OK, record["reason"]
        return record

    preferred = fit()
    no_controls = fit(controls="none")
    factor = fit(scores="factor")
    ordinal = fit(estimator="ordinal_logit")
    sem = fit(estimator="sem")
    estimates = {
        name: [e["estimate"] for e in r["effects"]]
        for name, r in {
            "preferred": preferred,
            "no_controls": no_controls,
            "factor": factor,
            "ordinal": ordinal,
            "sem": sem,
        }.items()
    }
    assert len({tuple(np.round(v, 8)) for v in estimates.values()}) == 5
    assert sem["scores"] == LATENT and sem["controls"] == preferred["controls"]
    assert no_controls["controls"] == []
    # the preferred specification is the main regression (analysis.regression)
    from hazegov.analysis.regression import ols_hc3
    from hazegov.analysis.sample import build_analysis_sample
    from hazegov.survey.cleaning import apply_exclusions

    analysis = apply_exclusions(responses, codebook, CONFIG["exclusions"]).analysis
    controls = CONFIG["analysis"]["regression"]["controls"]
    sample = build_analysis_sample(analysis, codebook, "person_mean", controls=controls).frame
    main = ols_hc3(
        sample,
        "score_EFF",
        [f"score_{c}" for c in PROBLEMS],
        controls=CONFIG["analysis"]["regression"]["controls"],
        categorical=CONFIG["analysis"]["regression"]["categorical"],
        reference={"sector": codebook.sectors[0].id},
    ).coefficients.set_index("term")
    for effect in preferred["effects"]:
        row = main.loc[f"score_{effect['effect']}"]
        assert effect["estimate"] == pytest.approx(row["b"], rel=1e-10)
        assert effect["se"] == pytest.approx(row["se"], rel=1e-10)
        assert effect["std_estimate"] == pytest.approx(row["beta"], rel=1e-10)


@pytest.mark.parametrize("controls", ["none", "full"])
@pytest.mark.parametrize("scores", ["score_", "fscore_"])
def test_numpy_estimators_agree_with_the_study_estimators(responses, codebook, controls, scores):
    from hazegov.analysis.regression import ols_hc3, ordinal_logit

    frame = _prepared(responses, codebook).frame
    terms = [scores + c for c in PROBLEMS]
    extra = [] if controls == "none" else list(CONFIG["analysis"]["regression"]["controls"])
    categorical = [c for c in ("sector", "gender") if c in extra]
    reference = {"sector": codebook.sectors[0].id} if "sector" in categorical else {}
    design = build_design(frame, scores + "EFF", [*terms, *extra], categorical, reference, what="t")
    lean = ols_hc3_fit(design, 0.95)
    study = ols_hc3(
        frame, scores + "EFF", terms, controls=extra, categorical=categorical, reference=reference
    ).coefficients
    assert lean["columns"] == list(study["column"])
    for key in ("b", "se", "p", "ci_low", "ci_high"):
        np.testing.assert_allclose(lean[key], study[key], rtol=1e-9, atol=1e-12)

    data = frame.assign(EFF_category=ordinal_outcome(frame["score_EFF"]))
    design = build_design(data, "EFF_category", [*terms, *extra], categorical, reference, what="t")
    lean = ordinal_logit_fit(design, 0.95)
    study = ordinal_logit(
        data, "EFF_category", terms, controls=extra, categorical=categorical, reference=reference
    ).coefficients
    assert lean["columns"] == list(study["column"])
    np.testing.assert_allclose(lean["b"], study["b"], rtol=1e-5, atol=1e-6)
    # statsmodels differentiates numerically; the observed information here is analytic
    np.testing.assert_allclose(lean["se"], study["se"], rtol=1e-4)


def test_ordinal_outcome_rounds_halves_up():
    scores = pd.Series([1.0, 1.49, 1.5, 2.25, 2.5, 4.75, 5.0])
    assert ordinal_outcome(scores).tolist() == [1, 1, 2, 2, 3, 5, 5]


# ---------------------------------------------------------------------- known population


def _single_population(model):
    raw = {
        **model.raw,
        "sector_mean_shifts": {
            s: dict.fromkeys(v, 0.0) for s, v in model.raw["sector_mean_shifts"].items()
        },
    }
    return type(model)(model.path, raw)


@pytest.fixture(scope="module")
def population_responses(codebook):
    """Responses as the ingest writes them, drawn from the population model without sector
    differences; the scale items are the continuous latent responses (times 1000, rounded:
    the cleaning stores items as integers) so the population slopes are known exactly."""
    model = _single_population(load_population_model(POPULATION, codebook))
    n = 20000
    codes = draw_respondents(model, codebook, n=n)
    latent = draw_latent_responses(model, codebook, n=n)
    group_code = {o.id: o.code for o in codebook.respondent_group.options}
    out = pd.DataFrame(
        {
            "submission_no": np.arange(1, n + 1),
            "duration_s": np.full(n, 400),
            "resp_group": codes["resp_group"].map(group_code).astype("Int64"),
        }
    )
    for var in codebook.demographics:
        out[var.name] = codes[var.name].astype("Int64").where(codes[var.name] >= 0)
    for item in codebook.likert_items:
        out[item.name] = np.round(1000 * latent[f"ystar_{item.name}"]).astype("Int64")
    for check in codebook.attention_checks:
        out[check.name] = pd.array([check.expected_code] * n, dtype="Int64")
    out["satisfaction"] = codes["satisfaction"].astype("Int64")
    for column in codebook.answer_columns:
        if column not in out:
            out[column] = pd.array([None] * n, dtype="string")
    return model, out


def test_ols_on_mean_and_factor_scores_and_sem_recover_the_population(
    population_responses, codebook
):
    model, responses = population_responses
    config = CONFIG
    # continuous answers: nothing to impute and no straight-lining (whose check is slow here)
    choices = {"straight_lining": "keep", "missing_data": "listwise", "controls": "none"}
    want_mean = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    want_latent = model.beta  # standardized: unit-variance factors and outcome

    mean = run_specification(responses, codebook, _spec(config, **choices), config)
    assert mean["status"] == STATUS_OK and mean["n"] == len(responses)
    for effect in mean["effects"]:
        assert abs(effect["estimate"] - want_mean[effect["effect"]]) < 4 * effect["se"], effect

    prepared = _prepared(responses, codebook, config, **choices)

    def fit(**model_choices):
        settings = specification_settings(config, _spec(config, **choices, **model_choices))
        record = estimate_specification(prepared.frame, prepared.report, codebook, settings)
        assert record["status"] == STATUS_OK, record["reason"]
        return record

    for record in (fit(scores="factor"), fit(estimator="sem")):
        for effect in record["effects"]:
            se_std = effect["se"] * effect["std_estimate"] / effect["estimate"]
            gap = abs(effect["std_estimate"] - want_latent[effect["effect"]])
            assert gap < 4 * se_std, (record["spec"], effect)
    # the latent responses are not on the answer scale: the ordinal outcome would have
    # thousands of levels, and the specification is refused and recorded as failed
    settings = specification_settings(config, _spec(config, **choices, estimator="ordinal_logit"))
    ordinal = estimate_specification(prepared.frame, prepared.report, codebook, settings)
    assert ordinal["status"] == STATUS_FAILED and "levels" in ordinal["reason"]


# --------------------------------------------------------------------- failures, summary


def test_a_specification_that_cannot_be_estimated_is_recorded_as_failed(responses, codebook):
    prepared = _prepared(responses, codebook)
    tiny = prepared.frame.head(12)
    settings = specification_settings(CONFIG, _spec(CONFIG))
    record = estimate_specification(tiny, {**prepared.report, "n": 12}, codebook, settings)
    assert record["status"] == STATUS_FAILED
    assert "usable cases" in record["reason"]
    assert [e["effect"] for e in record["effects"]] == PROBLEMS
    assert all(e["estimate"] is None for e in record["effects"])
    # a failed CFA fails the factor-score specifications with its reason
    broken = {**prepared.report, "factor_scores": {"status": "failed", "reason": "no CFA"}}
    factor = specification_settings(CONFIG, _spec(CONFIG, scores="factor"))
    record = estimate_specification(prepared.frame, broken, codebook, factor)
    assert (record["status"], record["reason"]) == (STATUS_FAILED, "no CFA")


def _records(settings, values, failed=()):
    """Hand-made records of the .test grid: `values` maps spec id -> (estimate, p) for LEAD;
    the other effects copy LEAD."""
    out = []
    for spec in specification_grid(settings):
        status = STATUS_FAILED if spec.id in failed else STATUS_OK
        estimate, p = values.get(spec.id, (0.2, 0.01))
        effects = []
        for effect in PROBLEMS:
            row = {
                "estimate": estimate,
                "se": 0.1,
                "ci_low": estimate - 0.2,
                "ci_high": estimate + 0.2,
                "p": p,
                "std_estimate": estimate,
                "std_ci_low": estimate - 0.2,
                "std_ci_high": estimate + 0.2,
            }
            if status == STATUS_FAILED:
                row = dict.fromkeys(row)
            effects.append({"effect": effect, **row})
        out.append(
            {
                "spec": spec.id,
                "sample": spec.sample,
                "choices": spec.choices,
                "status": status,
                "reason": "too few cases" if status == STATUS_FAILED else "",
                "n": 100,
                "scale": "x",
                "effects": effects,
                "data_source": "synthetic",
            }
        )
    return out


def test_summary_shares_on_a_hand_built_table():
    settings = TEST_CONFIG["multiverse"]
    grid = specification_grid(settings)
    preferred = preferred_specification(settings).id
    others = [s.id for s in grid if s.id != preferred]
    values = {
        preferred: (0.3, 0.001),
        others[0]: (-0.1, 0.01),  # opposite sign, significant
        others[1]: (0.1, 0.2),  # same sign, not significant
        others[2]: (-0.05, 0.5),  # opposite, not significant
    }
    records = _records(settings, values, failed={others[3]})
    estimates = mark_agreement(gather(records), preferred, settings["alpha"])
    assert len(estimates) == len(grid) * len(PROBLEMS)
    summary, by_dimension = summarise(estimates, settings, PROBLEMS)
    assert summary["n_specifications"] == 10
    assert summary["n_failed"] == 1 and summary["n_estimated"] == 9
    assert summary["failure_reasons"] == {"too few cases": 1}
    lead = summary["effects"]["LEAD"]
    assert lead["reference"] == "preferred"
    # 9 estimated: 7 same sign (preferred, one n.s., 5 defaults), 6 of them significant
    assert lead["share_same_sign"] == pytest.approx(7 / 9)
    assert lead["share_same_sign_significant"] == pytest.approx(6 / 9)
    assert lead["share_opposite_sign_significant"] == pytest.approx(1 / 9)
    assert lead["median_std_estimate"] == pytest.approx(0.2)
    # by dimension: every option of every dimension, and the shares add up per dimension
    rows = by_dimension[(by_dimension["effect"] == "LEAD")]
    for _, block in rows.groupby("dimension"):
        assert block["n_specifications"].sum() == 10
        shared = (block["share_same_sign_significant"] * block["n_estimated"]).sum()
        assert shared == pytest.approx(6)
    labels = {e: e.lower() for e in PROBLEMS}
    variables = multiverse_variables(summary, by_dimension, labels, 2)
    lead = variables["effects"]["LEAD"]
    assert lead["share_same_sign_significant"] == "66.7"
    # the weakest option is one of a choice that varies, and no stronger than the whole
    varied = rows[rows["dimension"].isin({"missing_data", "estimator", "scores"})]
    weakest = varied.loc[varied["share_same_sign_significant"].idxmin()]
    assert weakest["share_same_sign_significant"] <= 6 / 9
    assert lead["weakest_text"] == (
        f"the share is lowest with {weakest['dimension_label'][0].lower()}"
        f"{weakest['dimension_label'][1:]}: {weakest['option_label']} "
        f"({100 * weakest['share_same_sign_significant']:.1f} percent)"
    )
    # all four effects share LEAD's values here: a tie names them all
    assert variables["most_robust"]["label"] == (
        "LEAD (lead), RESP (resp), EVAL (eval) and PART (part)"
    )
    assert variables["n_estimated"] == 9 and "1 could not be estimated" in variables["failed_text"]


def test_summary_falls_back_to_the_median_sign_when_the_preferred_fails():
    settings = TEST_CONFIG["multiverse"]
    preferred = preferred_specification(settings).id
    records = _records(settings, {}, failed={preferred})
    estimates = mark_agreement(gather(records), preferred, settings["alpha"])
    summary, _ = summarise(estimates, settings, PROBLEMS)
    assert summary["effects"]["LEAD"]["reference"] == "median"
    assert summary["effects"]["LEAD"]["share_same_sign_significant"] == 1.0


def test_summary_files(tmp_path, codebook):
    settings = TEST_CONFIG["multiverse"]
    paths = []
    for record in _records(settings, {}):  # one group file per specification
        path = tmp_path / "groups" / f"{record['spec']}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"samples": {}, "records": [record]}), encoding="utf-8")
        paths.append(path)
    out = {
        name: tmp_path / f"{name}.{ext}"
        for name, ext in [
            ("estimates", "csv"),
            ("specifications", "csv"),
            ("summary", "json"),
            ("by_dimension", "csv"),
            ("variables", "yml"),
            ("table", "md"),
            ("options_table", "md"),
            ("figure", "png"),
        ]
    }
    run_multiverse_summary(
        paths,
        ROOT / "config" / "codebook.yaml",
        TEST_CONFIG,
        **{f"{k}_out": v for k, v in out.items()},
        min_cell_count=5,
    )
    estimates = pd.read_csv(out["estimates"])
    assert len(estimates) == 10 * len(PROBLEMS)
    assert set(estimates["status"]) == {STATUS_OK}
    assert len(pd.read_csv(out["specifications"])) == 10
    table = out["table"].read_text(encoding="utf-8")
    assert "{#tbl-multiverse}" in table and "Synthetic data." in table
    assert "{#tbl-multiverse-by-choice}" in out["options_table"].read_text(encoding="utf-8")
    assert out["figure"].read_bytes().startswith(b"\x89PNG")
    variables = yaml.safe_load(out["variables"].read_text(encoding="utf-8"))["multiverse"]
    assert variables["n_specifications"] == 10
    # a record missing from the grid stops the summary
    with pytest.raises(ValueError, match="do not match the grid"):
        run_multiverse_summary(
            paths[:-1],
            ROOT / "config" / "codebook.yaml",
            TEST_CONFIG,
            **{f"{k}_out": v for k, v in out.items()},
            min_cell_count=5,
        )


def test_the_schema_takes_the_default_and_test_grids_and_refuses_bad_options():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
    # the config files the Snakefile reads, in its order
    snakefile = (ROOT / "Snakefile").read_text(encoding="utf-8")
    names = re.findall(r'^configfile: "config/([^"]+)"', snakefile, flags=re.MULTILINE)
    # then the strands' files, read when they exist (STRAND_CONFIG_FILES)
    names += re.findall(r'^    "config/([^"]+)",$', snakefile, flags=re.MULTILINE)
    assert "multiverse.yaml" in names
    for folder in (ROOT / "config", ROOT / ".test" / "config"):
        merged = {}
        for name in names:
            merged |= yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        validate(copy.deepcopy(merged), schema)
    bad = copy.deepcopy(merged)
    bad["multiverse"]["dimensions"]["estimator"]["options"][0]["method"] = "probit"
    with pytest.raises(WorkflowError, match="probit"):
        validate(bad, schema)
    bad = copy.deepcopy(merged)
    bad["multiverse"]["dimensions"]["speeders"]["options"][0]["seconds"] = "two minutes"
    with pytest.raises(WorkflowError, match="seconds"):
        validate(bad, schema)


@pytest.mark.slow
def test_semopy_results_do_not_depend_on_the_hash_seed(tmp_path):
    """semopy's parameter order follows Python's string hashing; the factor scores and the
    SEM record must come out the same in every process (byte-identical builds)."""
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text(
        "import json, sys, yaml\n"
        "from hazegov.survey.codebook import load_codebook\n"
        "from hazegov.survey.ingest import ingest_export\n"
        "from hazegov.robustness.multiverse import *\n"
        f"root = {str(ROOT)!r}\n"
        "cb = load_codebook(root + '/config/codebook.yaml')\n"
        "config = {}\n"
        "for name in ('config.yaml', 'multiverse.yaml'):\n"
        "    config |= yaml.safe_load(open(root + '/config/' + name, encoding='utf-8'))\n"
        f"responses = ingest_export({str(DEFAULT_EXPORT)!r}, cb).responses\n"
        "spec = [s for s in specification_grid(config['multiverse'])\n"
        "        if s.choices['estimator'] == 'sem' and s.choices['controls'] == 'full'][0]\n"
        "variant = {d: spec.choices[d] for d in SAMPLE_DIMENSIONS}\n"
        "prepared = prepare_sample(responses, cb, sample_settings(config, variant))\n"
        "record = estimate_specification(prepared.frame, prepared.report, cb,\n"
        "                                specification_settings(config, spec))\n"
        "scores = prepared.frame.filter(like='fscore_').round(15).to_numpy().tolist()\n"
        "print(json.dumps([scores, record['effects']]))\n",
        encoding="utf-8",
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]


def test_group_jobs_give_the_same_records_however_the_grid_is_split(tmp_path, codebook):
    """The .test grid in one job and in two: the same records; a rerun reuses every member, and
    a changed option refits only the specifications that use it."""
    import logging

    from hazegov.io import write_parquet
    from hazegov.robustness.multiverse import group_settings, job_groups, run_multiverse_group
    from hazegov.survey.ingest import ingest_export

    responses = tmp_path / "responses.parquet"
    write_parquet(ingest_export(DEFAULT_EXPORT, codebook).responses, responses, {})
    cb_path = ROOT / "config" / "codebook.yaml"

    def run(config, jobs, cache):
        records = []
        for name, ids in job_groups(config["multiverse"], jobs).items():
            out = tmp_path / f"{cache}-{jobs}-{name}.json"
            run_multiverse_group(
                responses, cb_path, group_settings(config, ids), out, tmp_path / cache
            )
            records += json.loads(out.read_text(encoding="utf-8"))["records"]
        return sorted(records, key=lambda r: r["spec"])

    whole = run(TEST_CONFIG, 1, "cache-a")
    assert run(TEST_CONFIG, 2, "cache-b") == whole
    assert [r["spec"] for r in whole] == [
        s.id for s in specification_grid(TEST_CONFIG["multiverse"])
    ]

    class Counter(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    counter = Counter()
    logger = logging.getLogger("hazegov")
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    try:
        assert run(TEST_CONFIG, 2, "cache-a") == whole  # all from the cache
        changed = copy.deepcopy(TEST_CONFIG)
        options = changed["multiverse"]["dimensions"]["estimator"]["options"]
        options[1]["label"] = "proportional-odds logit"  # a label is part of no fit's settings
        missing = changed["multiverse"]["dimensions"]["missing_data"]["options"]
        person_mean = next(o for o in missing if o["rule"] == "person_mean")
        person_mean["min_items_answered"] = 2  # changes one variant and its specifications
        again = run(changed, 2, "cache-a")
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    summaries = [m for m in counter.messages if m.startswith("multiverse group")]
    reused = sum(int(re.search(r"(\d+) reused", m)[1]) for m in summaries[:2])
    assert reused == len(whole)
    fitted = sum(int(re.search(r"(\d+) specifications fitted", m)[1]) for m in summaries[2:])
    touched = [
        s
        for s in specification_grid(changed["multiverse"])
        if s.choices["missing_data"] == person_mean["id"]
    ]
    assert 0 < fitted == len(touched) < len(whole)
    assert len(again) == len(whole)
