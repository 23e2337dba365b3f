"""Several stations as a first-class case, on station files the tests make themselves.

The UCI multi-site files are not in the repository; `hazegov.air.simulate` writes small files
of the same layout with a known trend instead. Three multi-site stations from March 2013 (six
months before the policy, as in the real files) and, for the mixed case, one single-site
station from 2010.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hazegov.air import TABLES, run_air_quality_analysis, run_air_quality_data
from hazegov.air.simulate import StationModel, simulate_station_file, write_station_file
from tests.support.paths import ROOT

# Each test builds the air stage from simulated station files: tens of seconds.
pytestmark = pytest.mark.slow

STATIONS = ("Aotizhongxin", "Dingling", "Dongsi")
START, END = "2013-03-01", "2015-12-31"


def _station_entry(tmp: Path, model: StationModel, seed: int, family: str, start: str) -> dict:
    frame = simulate_station_file(model, start, END, seed, family=family)
    path = tmp / f"PRSA_{model.name}.csv"
    entry = {
        "file": str(path),
        "sha256": write_station_file(frame, path),
        "attribution": f"Simulated station {model.name} (hazegov.air.simulate, seed {seed}).",
    }
    if family == "prsa_single_site":
        entry["station"] = model.name
    return entry


def _settings(stations: list[dict], primary: str) -> dict:
    raw = yaml.safe_load((ROOT / "config" / "air_quality.yaml").read_text(encoding="utf-8"))
    settings = raw["air_quality"]
    settings["stations"] = stations
    settings["official"] = str(ROOT / "config" / "official_pm25.yaml")
    settings["primary"] = primary
    settings["its"]["coverage_simulations"] = 0
    return settings


def _run(out: Path, settings: dict) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    names = {
        "summary": "summary.json",
        "variables": "variables.yml",
        "annual_table": "air_annual.md",
        "its_table": "its.md",
        "calendar": "pm25_calendar.png",
        "its_figure": "pm25_monthly_its.png",
        "official_figure": "pm25_official_annual.png",
        "stations_table": "air_stations.md",
        "stations_figure": "pm25_stations.png",
    }
    paths = {k: out / v for k, v in names.items()} | {t: out / f"{t}.csv" for t in TABLES}
    run_air_quality_data(settings["stations"], out / "hourly.parquet", out / "report.json")
    run_air_quality_analysis(
        out / "hourly.parquet",
        settings["official"],
        settings,
        {t: paths[t] for t in TABLES},
        *(paths[k] for k in names),
    )
    return paths


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("multi")
    entries = [
        _station_entry(
            tmp, StationModel(name, trend_pct_per_year=-8.0), 10 + k, "prsa_multi_site", START
        )
        for k, name in enumerate(STATIONS)
    ]
    return _run(tmp / "out", _settings(entries, "city-wide"))


@pytest.fixture(scope="module")
def multi_variables(multi) -> dict:
    return yaml.safe_load(multi["variables"].read_text(encoding="utf-8"))["air"]


def test_every_output_of_a_multi_station_run_is_written(multi):
    for path in multi.values():
        assert path.is_file() and path.stat().st_size > 0, path


def test_stations_table_shows_every_station_beside_the_city_wide_series(multi):
    table = multi["stations_table"].read_text(encoding="utf-8")
    assert "{#tbl-air-stations}" in table
    for name in STATIONS:
        assert f"| {name} |" in table
    assert "| city-wide (primary) |" in table
    assert "not fitted" not in table  # every station carries weather: both trends fitted


def test_sentences_follow_the_data_not_one_case(multi_variables):
    air = multi_variables
    text = json.dumps(air, ensure_ascii=False)
    assert "US Embassy" not in text  # nothing of the default file leaks into a new data set
    assert (
        air["data"]["measured_at"]
        == f"at three monitoring stations ({', '.join(STATIONS[:2])} and {STATIONS[2]})"
    )
    assert air["severity"]["where"] == "in the city-wide mean of three monitoring stations"
    assert air["severity"]["where_cap"].startswith("In the city-wide mean")
    assert air["stations"]["summary"].startswith("The three stations differ")
    for name in STATIONS:
        assert f"Simulated station {name}" in air["data"]["attribution"]
    caution = air["its"]["caution"]
    assert "only 6 months before the policy" in caution and "with 27 months after" in caution
    assert "one trend for the whole period" in caution
    assert "post-policy period" not in caution  # the short side here is the pre-policy one
    assert air["its"]["evidence"].startswith("The city-wide mean of three stations, 6 pre-policy")


def test_short_pre_period_gives_a_level_only_model_and_says_so(multi, multi_variables):
    its = multi["its_table"].read_text(encoding="utf-8")
    assert "not estimated" in its and "Trend, %/year" in its
    assert "one trend for the whole period and a level change" in its
    assert "Segmented regressions" not in its
    summary = json.loads(multi["summary"].read_text(encoding="utf-8"))
    designs = {m["design"] for m in summary["models"] if m["model"].startswith("its")}
    assert designs == {"level_only"}
    # The simulated series has no step at the policy: the level change is small.
    assert abs(float(multi_variables["its"]["monthly"]["level_change_pct"])) < 15
    fitted = pd.read_csv(multi["its_monthly_fit"])
    assert fitted["counterfactual_supported"].sum() == fitted["post"].sum()


def test_part_years_are_flagged_and_kept_out_of_per_year_ranges(multi, multi_variables):
    annual = multi["annual_table"].read_text(encoding="utf-8")
    assert "| 2013‡ |" in annual and "2013 (March to December)" in annual
    severity = multi_variables["severity"]
    assert severity["by_year"]["y2013"]["part_year"] == "yes"
    assert severity["by_year"]["y2013"]["flag"] == "part year: March to December only"
    counts = pd.read_csv(multi["annual"])
    city = counts[counts["series"] == "city-wide"].set_index("year")
    complete = city[city["complete"]]
    assert sorted(complete.index) == [2014, 2015]
    low, high = complete["days_above_grade_ii_24h"].min(), complete["days_above_grade_ii_24h"].max()
    assert severity["days_above_75_per_year"] == (
        f"between {low} and {high} a year in the two complete calendar years (2014 and 2015)"
    )
    comparison = multi_variables["official"]["site_comparison"]["sentence"]
    assert "from March to December only: January and February are missing" in comparison
    assert comparison.startswith("in 2013 PM2.5 averaged")


def test_trend_decomposition_adds_up_for_every_series(multi):
    table = pd.read_csv(multi["trend_decomposition"])
    assert set(table["series"]) == {*STATIONS, "city-wide"}
    for _series, rows in table.groupby("series"):
        terms = rows[~rows["term"].isin(["unadjusted", "adjusted", "difference"])]
        difference = rows.loc[rows["term"] == "difference", "contribution"].item()
        assert terms["contribution"].sum() == pytest.approx(difference, abs=1e-5)  # CSV rounding


def test_mixed_layouts_adjust_the_city_wide_series_with_one_familys_weather(tmp_path):
    entries = [
        _station_entry(
            tmp_path,
            StationModel("Embassy", trend_pct_per_year=-5.0),
            1,
            "prsa_single_site",
            "2010-01-01",
        ),
        *(
            _station_entry(tmp_path, StationModel(name), 2 + k, "prsa_multi_site", START)
            for k, name in enumerate(STATIONS[:2])
        ),
    ]
    out = _run(tmp_path / "out", _settings(entries, "city-wide"))
    air = yaml.safe_load(out["variables"].read_text(encoding="utf-8"))["air"]
    assert "adjusted" in air["trend"]  # the introduction quotes it
    source = air["trend"]["weather_source"]
    assert "2 stations of the multi-site (UCI 501) family" in source
    assert "Embassy" in source and "not averaged in" in source
    its = out["its_table"].read_text(encoding="utf-8")
    assert "Daily means, weather-adjusted" in its and "WSPM" in its
    summary = json.loads(out["summary"].read_text(encoding="utf-8"))
    assert summary["skipped_models"] == []
    annual = pd.read_csv(out["annual"])
    assert annual.loc[annual["series"] == "city-wide", "year"].min() == 2013  # no empty 2010-2012
    assert annual.loc[annual["series"] == "Embassy", "year"].min() == 2010
    table = out["stations_table"].read_text(encoding="utf-8")
    assert "| Embassy | Jan 2010–Dec 2015 |" in table
