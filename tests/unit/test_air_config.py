"""The air strand's config checks: primary series, station list, attribution, list replacement.

`hazegov check config` and the Snakefile's start-up check run the same `check_config`, so a
wrong `primary` stops before any data are read, naming the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hazegov.air.settings import check_primary, load_air_settings, station_names_in_file
from hazegov.air.simulate import StationModel, simulate_station_file, write_station_file
from hazegov.checks import ROOT_CONFIG
from hazegov.cli import main
from hazegov.config_check import check_config_files, station_list_notes
from hazegov.errors import ConfigError
from tests.support.paths import ROOT

BASE = [str(ROOT / f) for f in ROOT_CONFIG]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def two_stations(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("stations")
    entries = []
    for k, name in enumerate(("Dongsi", "Tiantan")):
        frame = simulate_station_file(StationModel(name), "2013-03-01", "2013-04-30", k)
        path = tmp / f"PRSA_Data_{name}.csv"
        entries.append(
            {"file": str(path), "sha256": write_station_file(frame, path), "attribution": "sim"}
        )
    return entries


def _user_file(tmp_path, air: dict) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"air_quality": air}, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_station_names_are_read_from_the_station_column(two_stations):
    assert station_names_in_file(two_stations[0]["file"]) == ("Dongsi",)
    assert station_names_in_file(ROOT / "data/raw/air/PRSA_US_Embassy_Beijing_2010-2014.csv") == ()


def test_primary_not_among_the_stations_stops_at_config_check_naming_file_line_key(
    tmp_path, two_stations
):
    mine = _user_file(tmp_path, {"stations": two_stations})  # primary stays "US Embassy"
    with pytest.raises(ConfigError) as caught:
        check_config_files([*BASE, mine], SCHEMA)
    (problem,) = caught.value.violations
    assert problem.rule == "primary-series" and problem.column == "air_quality.primary"
    assert problem.file.endswith("config/air_quality.yaml") and problem.row is not None
    assert "choose one of ['Dongsi', 'Tiantan', 'city-wide']" in problem.message


def test_city_wide_needs_two_stations(tmp_path):
    raw = yaml.safe_load((ROOT / "config/air_quality.yaml").read_text(encoding="utf-8"))
    mine = _user_file(tmp_path, {"primary": "city-wide"})
    with pytest.raises(ConfigError, match="needs two or more stations"):
        check_config_files([*BASE, mine], SCHEMA)
    settings = load_air_settings(raw["air_quality"] | {"primary": "US Embassy"})
    assert check_primary(settings) == ["US Embassy"]


def test_a_good_multi_station_config_passes_and_says_the_list_is_replaced(
    tmp_path, two_stations, monkeypatch, capsys
):
    mine = _user_file(tmp_path, {"stations": two_stations, "primary": "city-wide"})
    check_config_files([*BASE, mine], SCHEMA)
    (note,) = station_list_notes([*BASE, mine])
    assert "replaces the list of" in note and "(1 file(s))" in note and "its own 2" in note
    monkeypatch.chdir(ROOT)
    assert main(["check", "config", mine]) == 0
    out = capsys.readouterr().out
    assert "note:" in out and "replaces" in out and "no problems found" in out


def test_station_entry_without_attribution_is_refused(tmp_path, two_stations):
    bare = [{k: v for k, v in e.items() if k != "attribution"} for e in two_stations]
    mine = _user_file(tmp_path, {"stations": bare, "primary": "city-wide"})
    with pytest.raises(ConfigError) as caught:
        check_config_files([*BASE, mine], SCHEMA)
    (problem,) = caught.value.violations
    assert problem.rule == "attribution-given"
    assert problem.column == "air_quality.stations.0.attribution" and problem.file == mine
    assert "doi:10.24432/C5RK5G" in problem.message


def test_city_min_stations_above_the_station_count_is_refused(tmp_path, two_stations):
    mine = _user_file(
        tmp_path, {"stations": two_stations, "primary": "city-wide", "city_min_stations": 3}
    )
    with pytest.raises(ConfigError, match="city-min-stations"):
        check_config_files([*BASE, mine], SCHEMA)


def test_cli_reports_a_wrong_primary_once_with_a_clear_message(
    tmp_path, two_stations, monkeypatch, capsys
):
    mine = _user_file(tmp_path, {"stations": two_stations})
    monkeypatch.chdir(ROOT)
    assert main(["check", "config", mine]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("[rule: primary-series]") == 1
    assert "Traceback" not in captured.err and "no problems found" not in captured.out
    assert "config/air_quality.yaml, line " in captured.err


def test_docs_station_example_is_a_valid_config_once_its_placeholders_are_filled(
    tmp_path, monkeypatch, capsys
):
    """The `my_air.yaml` of docs/real-data.md, with the simulated file in place of the UCI one
    and its real sha256, passes `hazegov check config` and is told that its list replaces the
    default."""
    page = (ROOT / "docs" / "real-data.md").read_text(encoding="utf-8")
    snippet = page.split("# my_air.yaml\n", 1)[1].split("```", 1)[0]
    example = yaml.safe_load(snippet)
    (entry,) = example["air_quality"]["stations"]
    assert entry["file"].startswith("data/raw/air/PRSA_Data_") and "C5RK5G" in entry["attribution"]
    frame = simulate_station_file(StationModel("Aotizhongxin"), "2013-03-01", "2013-03-31", 1)
    path = tmp_path / Path(entry["file"]).name
    entry["file"] = str(path)
    entry["sha256"] = write_station_file(frame, path)
    example["air_quality"]["stations"].append(dict(entry, file=str(path)))  # a second station
    second = simulate_station_file(StationModel("Dongsi"), "2013-03-01", "2013-03-31", 2)
    other = tmp_path / "PRSA_Data_Dongsi_sim.csv"
    example["air_quality"]["stations"][1] = dict(
        entry, file=str(other), sha256=write_station_file(second, other)
    )
    mine = tmp_path / "my_air.yaml"
    mine.write_text(yaml.safe_dump(example, allow_unicode=True), encoding="utf-8")
    monkeypatch.chdir(ROOT)
    assert main(["check", "config", str(mine)]) == 0
    assert "replaces the list" in capsys.readouterr().out
