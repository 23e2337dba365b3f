"""The official annual series: the shipped values, the 2017 target, and bad entries refused."""

from __future__ import annotations

import pytest
import yaml

from hazegov.air import load_air_settings, load_official, official_summary
from hazegov.errors import ConfigError, InputError
from tests.support.paths import ROOT

OFFICIAL = ROOT / "config" / "official_pm25.yaml"
AIR_CONFIG = ROOT / "config" / "air_quality.yaml"


def test_shipped_series_gives_the_documented_facts():
    """Facts sheet, section 2: 89.5 (2013), 58 (2017, target about 60 met), 30.5 (2024)."""
    facts = official_summary(load_official(OFFICIAL))
    assert (facts["base_year"], facts["base_value"]) == (2013, 89.5)
    assert (facts["target_year"], facts["target_year_value"]) == (2017, 58.0)
    assert facts["change_pct"] == pytest.approx(100 * (58 - 89.5) / 89.5)
    assert round(facts["change_pct"], 1) == -35.2
    assert facts["reported_change_pct"] == -35.6  # the Bureau's figure, from unrounded means
    assert facts["target_met"] is True and facts["target_value"] == 60
    assert (facts["latest_year"], facts["latest_value"]) == (2024, 30.5)
    assert facts["provisional_years"] == [2014, 2015, 2023]
    assert facts["first_year_at_or_below_grade_ii"] == 2021
    assert facts["first_year"] == 2013


def test_shipped_series_carries_standards_and_day_counts():
    official = load_official(OFFICIAL)
    grade_ii, who = official.standards["gb3095_grade_ii"], official.standards["who_2021"]
    assert (grade_ii.annual, grade_ii.daily_24h, who.annual, who.daily_24h) == (35, 75, 5, 15)
    table = official.series.set_index("year")
    assert table.index.tolist() == list(range(2013, 2025))
    assert table.loc[2013, "heavy_pollution_days"] == 58
    assert table.loc[2024, "good_or_better_days"] == 290
    assert table["heavy_pollution_days_provisional"].sum() == 0


def _write(tmp_path, mutate) -> str:
    raw = yaml.safe_load(OFFICIAL.read_text(encoding="utf-8"))
    mutate(raw["official_pm25"])
    path = tmp_path / "official.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_negative_value_is_named(tmp_path):
    def mutate(block):
        block["series"][1]["pm25"]["value"] = -1

    path = _write(tmp_path, mutate)
    with pytest.raises(InputError) as exc:
        load_official(path)
    v = exc.value.violations[0]
    assert (v.file, v.rule, v.row, v.column) == (
        path,
        "non-negative-number",
        2,
        "series[2014].pm25",
    )


def test_provisional_flag_must_be_boolean(tmp_path):
    def mutate(block):
        block["series"][0]["pm25"]["provisional"] = "verify"

    with pytest.raises(InputError) as exc:
        load_official(_write(tmp_path, mutate))
    assert exc.value.violations[0].rule == "provisional-flag"


def test_repeated_year_is_named(tmp_path):
    def mutate(block):
        block["series"][1]["year"] = 2013

    with pytest.raises(InputError) as exc:
        load_official(_write(tmp_path, mutate))
    assert exc.value.violations[0].rule == "unique-year"


def test_shipped_air_config_is_valid_and_cites_the_gb_day_rule():
    settings = load_air_settings(yaml.safe_load(AIR_CONFIG.read_text())["air_quality"])
    assert settings.min_hours_per_day == 20
    assert (settings.grade_ii_24h, settings.heavy) == (75, 150)
    assert settings.policy_date.isoformat() == "2013-09-10"
    assert "GB 3095-2012" in AIR_CONFIG.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        (("completeness", "min_hours_per_day"), 25, "whole-number-in-range"),
        (("its", "policy_date"), "2013-13-10", "iso-date"),
        (("meteorology", "seasonal"), "fourier", "known-option"),
        (("newey_west", "daily_lags"), -1, "hac-lags"),
    ],
)
def test_bad_air_config_names_key_and_rule(path, value, rule):
    raw = yaml.safe_load(AIR_CONFIG.read_text())["air_quality"]
    raw[path[0]][path[1]] = value
    with pytest.raises(ConfigError) as exc:
        load_air_settings(raw)
    v = exc.value.violations[0]
    assert (v.rule, v.column, v.value) == (rule, ".".join(path), value)
    assert v.file == "config/air_quality.yaml"


def test_station_without_sha256_is_refused():
    raw = yaml.safe_load(AIR_CONFIG.read_text())["air_quality"]
    raw["stations"][0]["sha256"] = "abc"
    with pytest.raises(ConfigError) as exc:
        load_air_settings(raw)
    assert exc.value.violations[0].column == "stations[0].sha256"
