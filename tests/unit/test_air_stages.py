"""Both stages on the shipped real data: outputs, variables checked against an independent
computation from the raw file, captions without the synthetic mark, several stations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.air import TABLES, run_air_quality_analysis, run_air_quality_data
from hazegov.survey.describe import SYNTHETIC_MARK
from tests.support.paths import ROOT

SHIPPED = ROOT / "data" / "raw" / "air" / "PRSA_US_Embassy_Beijing_2010-2014.csv"
FIGURES = ("calendar", "its_figure", "official_figure", "stations_figure")


def _settings(**changes) -> dict:
    raw = yaml.safe_load((ROOT / "config" / "air_quality.yaml").read_text(encoding="utf-8"))
    settings = raw["air_quality"]
    settings["stations"][0]["file"] = str(SHIPPED)
    settings["official"] = str(ROOT / "config" / "official_pm25.yaml")
    settings["its"]["coverage_simulations"] = 50  # keeps the test fast; the config runs 500
    return settings | changes


def _run(out: Path, settings: dict) -> dict[str, Path]:
    paths = {
        "hourly": out / "hourly.parquet",
        "report": out / "hourly_report.json",
        "summary": out / "summary.json",
        "variables": out / "variables.yml",
        "annual_table": out / "air_annual.md",
        "its_table": out / "its.md",
        "calendar": out / "pm25_calendar.png",
        "its_figure": out / "pm25_monthly_its.png",
        "official_figure": out / "pm25_official_annual.png",
        "stations_table": out / "air_stations.md",
        "stations_figure": out / "pm25_stations.png",
    } | {t: out / f"{t}.csv" for t in TABLES}
    run_air_quality_data(settings["stations"], paths["hourly"], paths["report"])
    run_air_quality_analysis(
        paths["hourly"],
        settings["official"],
        settings,
        {t: paths[t] for t in TABLES},
        paths["summary"],
        paths["variables"],
        paths["annual_table"],
        paths["its_table"],
        paths["calendar"],
        paths["its_figure"],
        paths["official_figure"],
        paths["stations_table"],
        paths["stations_figure"],
    )
    return paths


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    return _run(tmp_path_factory.mktemp("air"), _settings())


@pytest.fixture(scope="module")
def variables(real) -> dict:
    return yaml.safe_load(real["variables"].read_text(encoding="utf-8"))["air"]


@pytest.fixture(scope="module")
def independent() -> pd.DataFrame:
    """Daily means recomputed from the raw CSV with plain pandas, without the package."""
    raw = pd.read_csv(SHIPPED)
    raw["date"] = pd.to_datetime(raw[["year", "month", "day"]])
    days = raw.groupby("date")["pm2.5"].agg(["mean", "count"])
    return days[days["count"] >= 20]


def test_every_output_is_written(real):
    for path in real.values():
        assert path.is_file() and path.stat().st_size > 0, path


def test_severity_numbers_match_an_independent_computation(variables, independent):
    severity = variables["severity"]
    assert severity["mean_pm25"] == f"{independent['mean'].mean():.1f}"
    above = int((independent["mean"] > 75).sum())
    assert severity["days_above_75"] == f"{above:,}"
    assert severity["share_days_above_75_pct"] == f"{100 * above / len(independent):.1f}"
    per_year = (
        independent[independent["mean"] > 75]
        .groupby(independent.index.year[independent["mean"] > 75])
        .size()
    )
    for year, count in per_year.items():
        assert severity["by_year"][f"y{year}"]["days_above_75"] == count
    assert variables["completeness"]["n_valid_days"] == len(independent)
    assert variables["data"]["n_hours"] == "43,824"
    assert variables["data"]["pm25_missing_pct"] == "4.7"


def test_official_variables_follow_the_official_series(variables):
    official = variables["official"]
    assert (official["base_value"], official["target_year_value"]) == ("89.5", "58")
    assert official["decrease_pct"] == "35.2" and official["reported_decrease_pct"] == "35.6"
    assert official["target_met"] == "met"
    assert (official["latest_year"], official["latest_value"]) == (2024, "30.5")
    assert official["provisional_years"] == "2014, 2015 and 2023"


def test_its_variables_carry_the_caution_and_the_lag_rule(variables):
    its = variables["its"]
    assert its["monthly"]["n_pre"] == 44 and its["monthly"]["n_post"] == 15
    assert its["monthly"]["level_p"].startswith(("= ", "< "))
    assert its["monthly"]["level_ci"].startswith("[")
    caution = its["caution"]
    assert "15 months after" in caution and "control series" in caution
    assert "do not measure the effect" in caution
    assert "Newey-West" in its["lag_rule"] and "3 for the monthly" in its["lag_rule"]
    assert "CC BY 4.0" in variables["data"]["attribution"]
    assert (
        "20" in variables["completeness"]["rule"]
        and "GB 3095-2012" in variables["completeness"]["rule"]
    )


def test_tables_have_labels_and_no_synthetic_mark(real):
    annual = real["annual_table"].read_text(encoding="utf-8")
    its = real["its_table"].read_text(encoding="utf-8")
    assert "{#tbl-air-annual}" in annual and "{#tbl-its}" in its
    for text in (annual, its):
        assert "Synthetic" not in text and SYNTHETIC_MARK not in text
    assert "| 2013 | 360 | 102.0 | 184 |" in annual
    assert "85.9*" in annual  # the provisional official value is flagged


def test_outputs_are_reproducible(real, tmp_path):
    again = _run(tmp_path, _settings())
    for name in ("variables", "annual_table", "its_table", "annual", "its", *FIGURES):
        digest = [hashlib.sha256(p[name].read_bytes()).hexdigest() for p in (real, again)]
        assert digest[0] == digest[1], name


@pytest.mark.slow
def test_several_stations_give_per_station_and_city_wide_results(tmp_path):
    """Two stations of the multi-site family (built from the shipped file): city-wide = per day,
    the mean of the stations' valid daily means."""
    raw = pd.read_csv(SHIPPED, keep_default_na=False, dtype=str)
    raw = raw[raw["year"].astype(int) >= 2012].reset_index(drop=True)  # still spans the policy
    multi = pd.DataFrame(
        {
            "No": raw["No"],
            "year": raw["year"],
            "month": raw["month"],
            "day": raw["day"],
            "hour": raw["hour"],
            "PM2.5": raw["pm2.5"],
            "PM10": "NA",
            "SO2": "NA",
            "NO2": "NA",
            "CO": "NA",
            "O3": "NA",
            "TEMP": raw["TEMP"],
            "PRES": raw["PRES"],
            "DEWP": raw["DEWP"],
            "RAIN": "0.0",
            "wd": raw["cbwd"].replace({"cv": "N"}),
            "WSPM": (pd.to_numeric(raw["Iws"]) / 10).map("{:.1f}".format),
        }
    )
    second = multi.copy()
    pm = pd.to_numeric(second["PM2.5"], errors="coerce")
    second["PM2.5"] = (pm * 0.5).map(lambda v: "NA" if np.isnan(v) else f"{v:g}")
    both = pd.concat([multi.assign(station="A"), second.assign(station="B")])
    path = tmp_path / "two.csv"
    both.to_csv(path, index=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    settings = _settings(primary="city-wide")
    settings["stations"] = [{"file": str(path), "sha256": digest, "attribution": "test"}]
    out = _run(tmp_path / "out", settings)
    daily = pd.read_csv(out["daily"], parse_dates=["date"])
    wide = daily.pivot(index="date", columns="series", values="pm25")
    expected = (wide["A"] + wide["B"]) / 2
    assert np.allclose(wide["city-wide"].dropna(), expected.dropna())
    variables = yaml.safe_load(out["variables"].read_text(encoding="utf-8"))["air"]
    assert set(variables["by_series"]) == {"a", "b", "city_wide"}
    assert variables["data"]["n_stations"] == 2
    trend = pd.read_csv(out["trend"])
    assert set(trend["series"]) == {"A", "B", "city-wide"}
    summary = json.loads(out["summary"].read_text(encoding="utf-8"))
    assert summary["city_wide"] == "per day: mean over stations of their valid daily means"
    adjusted = next(
        m for m in summary["models"] if m["model"] == "trend_adjusted" and m["series"] == "A"
    )
    assert any("precip_hours" in w for w in adjusted["warnings"])  # RAIN is always 0 here
