"""The Monte Carlo checks of the methods: seeds, targets, summary arithmetic and one real check."""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from threadpoolctl import threadpool_limits

from hazegov.robustness import simulation as sim
from hazegov.robustness.simulation_plan import batch_replications
from hazegov.survey.synthetic import (
    PopulationModel,
    draw_respondents,
    expected_item_code,
    latent_score_regression,
    load_population_model,
)
from tests.support.paths import POPULATION, ROOT

PROBLEMS = ["LEAD", "RESP", "EVAL", "PART"]
APPENDIX = ROOT / "paper" / "_appendix-simulation.qmd"


@pytest.fixture(scope="module")
def model(codebook) -> PopulationModel:
    return load_population_model(POPULATION, codebook)


@pytest.fixture(scope="module")
def settings() -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    simulation = yaml.safe_load((ROOT / "config" / "simulation.yaml").read_text("utf-8"))
    analysis = config["analysis"]
    return {
        "regression": analysis["regression"],
        "path_model": analysis["path_model"],
        "missing_data": analysis["missing_data"],
        "exclusions": config["exclusions"],
        "out_of_range": config["survey"]["out_of_range"],
        "confidence": simulation["simulation"]["confidence"],
        "null_effects": simulation["simulation"]["null_effects"],
    }


def _analysed(codes: pd.DataFrame, codebook) -> pd.DataFrame:
    """Complete answers as the analysis sample holds them (scores, numeric years in post)."""
    from hazegov.analysis.sample import construct_scores, measurement_model, years_in_post_numeric

    frame = sim._clean_analysis_frame(codes, codebook, 0.0, np.random.default_rng(0))
    frame["years_in_post"] = years_in_post_numeric(
        frame, codebook.variable("years_in_post").skipped_for_groups
    )
    scores = construct_scores(frame, measurement_model(codebook)).add_prefix("score_")
    return pd.concat([frame, scores], axis=1)


def _with_seed(model: PopulationModel, seed: int) -> PopulationModel:
    return PopulationModel(model.path, {**model.raw, "seed": seed})


# ------------------------------------------------------------------------------ seeds, batches


def test_replication_seeds_are_fixed_by_seed_size_and_number():
    assert sim.replication_seed(1, 230, 0) == sim.replication_seed(1, 230, 0)
    seeds = {sim.replication_seed(1, n, r) for n in (100, 230) for r in range(50)}
    assert len(seeds) == 100
    assert sim.replication_seed(2, 230, 0) != sim.replication_seed(1, 230, 0)


def test_batches_partition_the_replications():
    batches = [batch_replications(23, 10, b) for b in range(3)]
    assert batches[2] == [20, 21, 22]
    assert [r for batch in batches for r in batch] == list(range(23))
    with pytest.raises(ValueError):
        batch_replications(23, 10, 3)


def test_results_do_not_depend_on_how_replications_are_batched(model, codebook, settings):
    together = sim.run_replications(model, codebook, 100, range(3), 7, settings)
    split = pd.concat(
        [
            sim.run_replications(model, codebook, 100, [2], 7, settings),
            sim.run_replications(model, codebook, 100, [0, 1], 7, settings),
        ]
    )
    split = split.sort_values(["replication"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(together, split)
    assert len(together) == 3 * len(sim.estimate_specs(settings))
    assert together["converged"].all()
    # an export of 100 loses its planted defects (and nothing else) to the exclusion rules
    assert together["n_analysed"].between(85, 95).all()
    assert together.groupby("replication")["value"].first().nunique() == 3


def _kept(cache, kind):
    """How many members of a kind the cache holds (one file per kind and batch)."""
    (shard,) = (cache / f"simulation-{kind}").iterdir()
    if shard.suffix == ".parquet":
        return pd.read_parquet(shard)["_cache_member"].nunique()
    return len(json.loads(shard.read_text(encoding="utf-8"))["members"])


def test_kept_replications_give_the_results_of_fresh_draws(
    model, codebook, settings, tmp_path, monkeypatch
):
    """Exports, sample digests and model rows are kept and reused: the same results whether computed
    afresh, kept by a first run, or read back by later runs with other choices; a changed
    choice recomputes only what depends on it."""
    fresh = sim.run_replications(model, codebook, 100, range(3), 7, settings)
    build, measured = sim.sample_of_verdict, sim.measured
    cache = tmp_path / "cache"
    first = sim.run_replications(model, codebook, 100, range(3), 7, settings, cache_dir=cache)
    assert [_kept(cache, k) for k in ("responses", "sample-of", "ols", "sem")] == [3] * 4
    assert _kept(cache, "sample-of-kept") == 3
    assert _kept(cache, "exclusion-measures") == 3
    kept = sorted(cache.rglob("*.*"))
    assert len(kept) == 6
    stamps = [p.stat().st_mtime_ns for p in kept]
    again = sim.run_replications(model, codebook, 100, range(3), 7, settings, cache_dir=cache)
    pd.testing.assert_frame_equal(fresh, first)
    pd.testing.assert_frame_equal(fresh, again)
    assert [p.stat().st_mtime_ns for p in kept] == stamps  # read, not computed again

    # a minimum time that excludes nobody new: judged from the kept measures (the answers are
    # not read again), new pointers to the same samples, found by the submissions kept, so
    # that no sample is built again and nothing is refitted
    stricter = {**settings, "exclusions": {**settings["exclusions"]}}
    stricter["exclusions"]["min_duration"] = {"enabled": True, "seconds": 100.5}
    built, judged = [], []
    with monkeypatch.context() as patch:
        patch.setattr(sim, "sample_of_verdict", lambda *a: built.append(a) or build(*a))
        patch.setattr(sim, "measured", lambda *a: judged.append(a) or measured(*a))
        from_kept = sim.run_replications(
            model, codebook, 100, range(3), 7, stricter, cache_dir=cache
        )
    assert built == [] and judged == []
    assert _kept(cache, "exclusion-measures") == 3  # the same measures
    assert _kept(cache, "sample-of-kept") == 3
    pd.testing.assert_frame_equal(
        from_kept, sim.run_replications(model, codebook, 100, range(3), 7, stricter)
    )
    pd.testing.assert_frame_equal(from_kept, fresh)
    assert [_kept(cache, k) for k in ("responses", "ols", "sem")] == [3] * 3
    assert _kept(cache, "sample-of") == 6

    # other controls: the samples and the path model's rows are reused, the regression refitted
    controls = {**settings, "regression": {**settings["regression"]}, "null_effects": []}
    controls["regression"]["controls"] = ["sector"]
    from_kept = sim.run_replications(model, codebook, 100, range(3), 7, controls, cache_dir=cache)
    pd.testing.assert_frame_equal(
        from_kept, sim.run_replications(model, codebook, 100, range(3), 7, controls)
    )
    assert [_kept(cache, k) for k in ("responses", "ols", "sem")] == [3, 6, 3]

    # another missing-data rule: the exclusion rules' measures are known, so the answers are
    # not judged again; every sample is built again and both models refitted
    listwise = {**settings, "missing_data": {**settings["missing_data"], "rule": "listwise"}}
    judged = []
    with monkeypatch.context() as patch:
        patch.setattr(sim, "measured", lambda *a: judged.append(a) or measured(*a))
        from_kept = sim.run_replications(
            model, codebook, 100, range(3), 7, listwise, cache_dir=cache
        )
    assert judged == []
    pd.testing.assert_frame_equal(
        from_kept, sim.run_replications(model, codebook, 100, range(3), 7, listwise)
    )
    assert _kept(cache, "exclusion-measures") == 3
    assert [_kept(cache, k) for k in ("responses", "ols", "sem")] == [3, 9, 6]


def test_kept_exclusion_measures_of_a_strict_rule_pass_the_identifier_scan(
    model, codebook, settings, tmp_path
):
    """What the exclusion rules measure is kept as numbers and booleans in parquet, which the
    identifier scan does not read as text: under a rule that excludes about half, no file of
    the cache is refused (as text, such values would be runs of digits, which a data output
    must not hold), and a rerun judges the kept measures to the same results."""
    from hazegov.privacy.identifier_scan import scan_file
    from hazegov.survey.cleaning import needed_duration

    responses = sim.draw_responses(
        model, codebook, 100, sim.replication_seed(7, 100, 0), "missing", tmp_path
    )
    median = float(responses[needed_duration(codebook)].median())
    strict = {**settings, "exclusions": {**settings["exclusions"]}}
    strict["exclusions"]["min_duration"] = {"enabled": True, "seconds": median}
    cache = tmp_path / "cache"
    reps = sim.run_replications(model, codebook, 100, range(4), 7, strict, cache_dir=cache)
    assert reps["n_analysed"].between(20, 70).all()  # about half excluded
    (shard,) = (cache / "simulation-exclusion-measures").iterdir()
    measures = pd.read_parquet(shard)
    assert measures["_cache_member"].nunique() == 4
    assert set(measures.drop(columns="_cache_member").dtypes.astype(str)) <= {
        "bool",
        "int64",
        "float64",
    }
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files and all(scan_file(p) == [] for p in files)
    again = sim.run_replications(model, codebook, 100, range(4), 7, strict, cache_dir=cache)
    pd.testing.assert_frame_equal(again, reps)


def test_frame_digest_tells_samples_apart_and_survives_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "a": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array(["x", None, "z"], dtype="string"),
            "c": [0.1, np.nan, 2.0],
        }
    )
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    assert sim.frame_digest(pd.read_parquet(tmp_path / "f.parquet")) == sim.frame_digest(frame)
    changed = frame.copy()
    changed.loc[2, "c"] = 2.0000000001
    renamed = frame.rename(columns={"c": "d"})
    retyped = frame.astype({"a": "float64"})
    digests = {sim.frame_digest(f) for f in (frame, changed, renamed, retyped, frame.iloc[:2])}
    assert len(digests) == 5


def _digest_column_by_column(frame: pd.DataFrame) -> str:
    """The digest as it was taken, one column after the other."""
    digest = hashlib.sha256()
    for name, column in frame.items():
        digest.update(f"{name}\0{column.dtype}\0".encode())
        digest.update(sim._column_bytes(column))
    digest.update(f"{len(frame)}".encode())
    return digest.hexdigest()


def test_frame_digest_taken_by_dtype_is_the_column_by_column_digest(codebook):
    """Numbers read a dtype's columns at a time give the digest read column by column gave:
    interleaved dtypes, missing values, signed zeros, a repeated name, no rows or columns."""
    rng = np.random.default_rng(2)
    floats = rng.normal(size=6)
    floats[[1, 4]] = [np.nan, -0.0]
    frame = pd.DataFrame(
        {
            "respondent_id": np.array([f"R{i:03d}" for i in range(6)], dtype=object),
            "x": floats,
            "count": rng.integers(0, 9, 6),
            "sector": pd.array(["a", None, "b", "a", "c", None], dtype="string"),
            "government": pd.array([True, None, False, True, True, None], dtype="boolean"),
            "role": pd.array([1, None, 3, 2, None, 1], dtype="Int64"),
            "y": floats[::-1] * 3,
            "flag": rng.random(6) < 0.5,
            "narrow": rng.normal(size=6).astype(np.float32),
            "small": rng.integers(0, 9, 6).astype(np.int8),
            "when": pd.date_range("2026-01-01", periods=6, freq="h"),
            "z": rng.normal(size=6),
        }
    )
    repeated = pd.concat([frame, frame[["x", "role"]]], axis=1)
    for f in (frame, repeated, frame.iloc[::-1], frame.iloc[:0], frame[["x"]], frame.iloc[:, :0]):
        assert sim.frame_digest(f) == _digest_column_by_column(f)


# ------------------------------------------------------------------------------------ targets


def test_bivariate_indicator_covariance_matches_the_normal_cdf():
    h, k = np.array([-1.0, 0.2, 1.4]), np.array([-0.5, 0.9])
    for rho in (-0.4, 0.3, 0.64):
        got = sim._indicator_covariance(h, k, rho)
        mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
        want = np.array(
            [[mvn.cdf([a, b]) - stats.norm.cdf(a) * stats.norm.cdf(b) for b in k] for a in h]
        )
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_exact_item_means_agree_with_the_generator(model, codebook):
    moments = sim.observed_item_moments(model, codebook, ["LEAD", "EFF"])
    weights = sim.sector_weights(model, codebook)
    for j, item in enumerate(moments.items):
        var = codebook.variable(item)
        code = sum(w * expected_item_code(model, codebook, item, s) for s, w in weights.items())
        want = sum(var.valid_range) - code if var.reverse else code
        assert moments.mean[j] == pytest.approx(want, abs=1e-9), item


def test_latent_paths_of_a_single_population_are_the_stated_ones(model, codebook, settings):
    single = PopulationModel(
        model.path,
        {
            **model.raw,
            "sector_mean_shifts": {
                s: dict.fromkeys(v, 0.0) for s, v in model.raw["sector_mean_shifts"].items()
            },
        },
    )
    paths = sim.settings_from(settings).paths
    latent = sim.latent_pooled_paths(single, codebook, paths)
    for construct, beta in model.beta.items():
        assert latent[("EFF", construct)] == pytest.approx(beta, abs=1e-12)
    assert latent[("RESP", "LEAD")] == pytest.approx(model.phi[0, 1], abs=1e-12)


def test_frame_with_covariance_has_exactly_the_moments():
    cov = np.array([[1.0, 0.3, 0.1], [0.3, 2.0, -0.2], [0.1, -0.2, 0.5]])
    frame = sim.frame_with_covariance(cov, np.array([3.0, 2.5, 4.0]), ["a", "b", "c"], rows=300)
    np.testing.assert_allclose(frame.cov().to_numpy(), cov, atol=1e-12)
    np.testing.assert_allclose(frame.mean().to_numpy(), [3.0, 2.5, 4.0], atol=1e-12)


@pytest.fixture(scope="module")
def large_draw(model, codebook) -> pd.DataFrame:
    """Complete five-point answers of 30,000 respondents (a seed of its own)."""
    return _analysed(draw_respondents(_with_seed(model, 11), codebook, n=30000), codebook)


def test_exact_ols_targets_are_recovered_by_a_large_draw(model, codebook, settings, large_draw):
    s = sim.settings_from(settings)
    found = {r["estimate"]: r for r in sim.ols_estimates(large_draw, codebook, s)}
    exact = sim.observed_score_regression(model, codebook, "EFF", PROBLEMS)
    latent = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    for construct in PROBLEMS:
        row = found[f"ols.{construct}"]
        assert abs(row["value"] - exact[construct]) < 4 * row["se"], construct
        # categorization attenuates a little beyond the measurement error of the latent scores
        assert exact[construct] < latent[construct] < model.beta[construct], construct
    assert abs(found["ols.gender"]["value"]) < 4 * found["ols.gender"]["se"]


def test_exact_path_targets_are_recovered_by_a_large_draw(model, codebook, settings, large_draw):
    s = sim.settings_from(settings)
    truth = sim.population_targets(model, codebook, s).set_index("estimate")
    with threadpool_limits(limits=1):
        found = {r["estimate"]: r for r in sim.sem_estimates(large_draw, codebook, s)}
    for spec in sim.estimate_specs(s):
        if spec.model != "sem":
            continue
        row = found[spec.id]
        assert row["converged"], spec.id
        assert abs(row["value"] - truth.loc[spec.id, "truth"]) < 4 * row["se"], spec.id


def test_targets_at_the_study_size_are_the_models_own(model, codebook, settings):
    at_model = sim.population_targets(model, codebook, settings)
    at_study = sim.population_targets(model, codebook, settings, model.n)
    pd.testing.assert_frame_equal(at_model, at_study)
    other = sim.population_targets(model, codebook, settings, 100).set_index("estimate")["truth"]
    # group sizes rounded to 100 shift the sector shares, and the targets a little
    assert (other - at_model.set_index("estimate")["truth"]).abs().max() < 0.005


# ------------------------------------------------------------------------------ the real check


def _stratified_samples(draw: pd.DataFrame, sizes: dict[str, int], k: int) -> list[pd.DataFrame]:
    """k disjoint samples with exactly the design's group sizes from one large draw."""
    groups = {g: rows.reset_index(drop=True) for g, rows in draw.groupby("resp_group")}
    return [
        pd.concat(
            [groups[g].iloc[i * m : (i + 1) * m] for g, m in sizes.items()], ignore_index=True
        )
        for i in range(k)
    ]


def test_hc3_intervals_cover_the_exact_targets_at_the_study_size(model, codebook, settings):
    """A check of the method against the known population, complete answers: 200 samples with
    the study's 230 respondents in its group sizes; 800 intervals (four slopes), whose coverage
    should be 95% up to Monte Carlo error (binomial SE 0.8 points; the intervals of one sample
    are correlated)."""
    s = sim.settings_from(settings)
    k, sizes = 200, model.raw["group_sizes"]
    exact = sim.observed_score_regression(model, codebook, "EFF", PROBLEMS, model.n)
    codes = draw_respondents(_with_seed(model, 99), codebook, n=k * model.n)
    covered = []
    for sample in _stratified_samples(_analysed(codes, codebook), sizes, k):
        for row in sim.ols_estimates(sample, codebook, s):
            construct = row["estimate"].split(".", 1)[1]
            if construct in exact:
                covered.append(row["ci_low"] <= exact[construct] <= row["ci_high"])
    assert len(covered) == 4 * k
    coverage = float(np.mean(covered))
    assert 0.92 <= coverage <= 0.98, coverage


# ------------------------------------------------------------------------------------- summary


def _hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two estimates at one size, four replications; one failed fit."""
    truth = pd.DataFrame(
        {
            "n": [230, 230],
            "estimate": ["ols.LEAD", "ols.gender"],
            "model": ["ols", "ols"],
            "label": ["LEAD → EFF (OLS)", "gender → EFF (OLS, no effect)"],
            "kind": ["effect", "no_effect"],
            "truth": [0.5, 0.0],
            "latent": [0.6, 0.0],
            "source": ["exact", "zero by construction"],
        }
    )
    reps = pd.DataFrame(
        {
            "n": 230,
            "replication": [0, 1, 2, 3] * 2,
            "estimate": ["ols.LEAD"] * 4 + ["ols.gender"] * 4,
            "value": [0.4, 0.6, 0.8, np.nan, -0.1, 0.1, 0.3, 0.0],
            "se": [0.1, 0.1, 0.1, np.nan, 0.1, 0.1, 0.1, 0.1],
            "ci_low": [0.2, 0.4, 0.6, np.nan, -0.3, -0.1, 0.1, -0.2],
            "ci_high": [0.6, 0.8, 1.0, np.nan, 0.1, 0.3, 0.5, 0.2],
            "p": [0.01, 0.001, 0.2, np.nan, 0.3, 0.3, 0.01, 1.0],
            "converged": [True, True, True, False, True, True, True, True],
            "n_analysed": 210,
            "message": ["", "", "", "OLS failed", "", "", "", ""],
        }
    )
    return reps, truth


def test_summary_arithmetic_on_a_hand_made_table():
    reps, truth = _hand_made()
    summary = sim.summarise(reps, truth, alpha=0.05).set_index("estimate")
    lead = summary.loc["ols.LEAD"]
    assert lead["replications"] == 4 and lead["failed"] == 1
    assert lead["mean_estimate"] == pytest.approx(0.6)
    assert lead["bias"] == pytest.approx(0.1)
    assert lead["relative_bias"] == pytest.approx(0.2)
    assert lead["empirical_sd"] == pytest.approx(0.2)
    assert lead["bias_mcse"] == pytest.approx(0.2 / math.sqrt(3))
    assert lead["mean_se"] == pytest.approx(0.1)
    assert lead["se_ratio"] == pytest.approx(0.5)
    assert lead["rmse"] == pytest.approx(math.sqrt((0.01 + 0.01 + 0.09) / 3))
    assert lead["coverage"] == pytest.approx(2 / 3)  # 0.5 lies outside [0.6, 1.0]
    assert lead["coverage_mcse"] == pytest.approx(math.sqrt(2 / 9 / 3))
    assert lead["power"] == pytest.approx(2 / 3)
    null = summary.loc["ols.gender"]
    assert null["failed"] == 0 and null["bias"] == pytest.approx(0.075)
    assert math.isnan(null["relative_bias"])
    assert null["coverage"] == pytest.approx(0.75) and null["power"] == pytest.approx(0.25)
    assert list(summary.index) == ["ols.LEAD", "ols.gender"]  # the targets' order


def test_summary_refuses_an_estimate_without_a_target():
    reps, truth = _hand_made()
    with pytest.raises(ValueError, match="no target"):
        sim.summarise(reps, truth[truth["estimate"] == "ols.LEAD"])


def test_the_appendix_quotes_exactly_the_simulation_variables(model):
    """Every simulation variable the appendix quotes is produced, and every one produced is
    quoted (the paper checks would otherwise report it as unused)."""
    specs = sim.estimate_specs(
        {
            "regression": {"outcome": "EFF", "predictors": PROBLEMS, "controls": ["gender"]},
            "path_model": {
                "paths": [["RESP", "LEAD"], *[["EFF", c] for c in PROBLEMS]],
                "indirect": [["LEAD", "RESP", "EFF"]],
            },
            "missing_data": {"rule": "person_mean"},
            "exclusions": {},
            "null_effects": ["gender"],
        }
    )
    rows = []
    for n in (100, 230):
        for k, spec in enumerate(specs):
            rows.append(
                {
                    "n": n,
                    "estimate": spec.id,
                    "model": spec.model,
                    "label": spec.label,
                    "kind": spec.kind,
                    "truth": 0.0 if spec.kind == "no_effect" else 0.2,
                    "latent": 0.25,
                    "replications": 10,
                    "failed": 0,
                    "bias": 0.01 * k,
                    "relative_bias": 0.05 * k,
                    "se_ratio": 1.0,
                    "coverage": 0.95,
                    "power": 0.05 if spec.kind == "no_effect" else n / 300,
                    "mean_n_analysed": 0.9 * n,
                }
            )
    summary = pd.DataFrame(rows)
    check = pd.DataFrame({"n_draw": [5000], "z": [1.5], "draw_se": [0.01]})
    config = {"replications": 10, "batch_size": 5, "seed": 1, "confidence": 0.95, "alpha": 0.05}
    variables = sim.simulation_variables(summary, summary, check, config, 230, model.beta)

    def leaves(tree, prefix=""):
        if isinstance(tree, dict):
            return {leaf for k, v in tree.items() for leaf in leaves(v, f"{prefix}{k}.")}
        return {prefix.rstrip(".")}

    produced = leaves(variables)
    quoted = set(re.findall(r"\{\{< var (simulation\.[\w.]+) >\}\}", APPENDIX.read_text("utf-8")))
    assert quoted == produced
    assert variables["simulation"]["weakest"]["verdict"].startswith("stays below")
    assert variables["simulation"]["alpha"] == ".05"
