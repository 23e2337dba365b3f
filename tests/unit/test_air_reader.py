"""The hourly reader: both PRSA column families, and one clear error per class of bad file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from hazegov.air import (
    TIDY_COLUMNS,
    StationFile,
    read_station_file,
    read_stations,
    run_air_quality_data,
    verify_sha256,
)
from hazegov.errors import InputError
from hazegov.privacy.identifiers import export_label
from tests.support import paths
from tests.support.paths import BAD_INPUTS, ROOT
from tests.support.policy import corpus_script

FIXTURES = paths.FIXTURES / "air"
SINGLE = FIXTURES / "PRSA_single_site_sample.csv"
MULTI = FIXTURES / "PRSA_multi_site_two_stations.csv"
SHIPPED = ROOT / "data" / "raw" / "air" / "PRSA_US_Embassy_Beijing_2010-2014.csv"
SHIPPED_SHA256 = "4127f868775e31b3956522adc0ec75af8937dde6a3896e8beed3a376c6d27f1c"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit(tmp_path: Path, source: Path, line: int, old: str, new: str, name: str = "") -> Path:
    """A copy of `source` with one text replacement on file line `line` (1 = header)."""
    lines = source.read_text(encoding="utf-8").splitlines()
    assert old in lines[line - 1], (old, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / (name or source.name)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _only(exc: pytest.ExceptionInfo[InputError], rule: str):
    found = [v for v in exc.value.violations if v.rule == rule]
    assert found, [str(v) for v in exc.value.violations]
    return found[0]


# --- both column families ---------------------------------------------------------------------


def test_single_site_file_without_station_column_takes_the_configured_name():
    read = read_station_file(SINGLE, station="Embassy test")
    frame = read.frame
    assert list(frame.columns) == list(TIDY_COLUMNS)
    assert len(frame) == 48
    assert set(frame["station"]) == {"Embassy test"}
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2010-01-01 00:00")
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2010-01-02 23:00")
    assert int(frame["pm25"].isna().sum()) == 3  # "NA" is missing, nothing else
    assert frame["wind_speed_cum"].notna().all() and frame["wind_speed"].isna().all()
    assert frame["rain_mm"].isna().all() and frame["pm10"].isna().all()
    assert set(frame["wind_dir"]) == {"NW", "SE"}
    assert read.report["family"] == "prsa_single_site"
    assert frame.loc[frame["source_row"] == 5, "pm25"].item() == 103.0  # file row 5 = hour 3


def test_multi_site_file_with_two_stations_maps_to_the_same_schema():
    read = read_station_file(MULTI)
    frame = read.frame
    assert list(frame.columns) == list(TIDY_COLUMNS)
    assert sorted(frame["station"].unique()) == ["Aotizhongxin", "Dongsi"]
    assert frame.groupby("station").size().to_dict() == {"Aotizhongxin": 24, "Dongsi": 24}
    assert frame["wind_speed"].notna().all() and frame["wind_speed_cum"].isna().all()
    assert frame["rain_mm"].max() == 0.5 and frame["pm10"].notna().all()
    assert int(frame["wind_dir"].isna().sum()) == 16  # "NA" direction in hours 16-23
    assert read.report["family"] == "prsa_multi_site"


def test_multi_site_file_without_station_column_uses_the_config(tmp_path):
    table = pd.read_csv(MULTI, keep_default_na=False, dtype=str)
    one = table[table["station"] == "Dongsi"].drop(columns="station")
    path = tmp_path / "dongsi.csv"
    one.to_csv(path, index=False)
    frame = read_station_file(path, station="Dongsi").frame
    assert set(frame["station"]) == {"Dongsi"} and len(frame) == 24


def test_files_of_both_families_read_together():
    stations = [
        StationFile(str(SINGLE), _sha(SINGLE), station="Embassy test"),
        StationFile(str(MULTI), _sha(MULTI)),
    ]
    hourly, reports = read_stations(stations)
    assert sorted(hourly["station"].unique()) == ["Aotizhongxin", "Dongsi", "Embassy test"]
    assert len(hourly) == 96
    assert [r["family"] for r in reports] == ["prsa_single_site", "prsa_multi_site"]


# --- one error per class of bad file ------------------------------------------------------------


def test_unknown_column_is_named(tmp_path):
    path = _edit(tmp_path, SINGLE, 1, "DEWP", "DEW_POINT")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    unknown = _only(exc, "known-column")
    assert (unknown.file, unknown.row, unknown.column) == (str(path), 1, "DEW_POINT")
    missing = _only(exc, "column-present")
    assert missing.column == "DEWP"


def test_text_in_a_numeric_column_is_named(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, ",108,", ",1O8,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "numeric-value")
    assert (v.file, v.row, v.column, v.value) == (str(path), 10, "pm2.5", "1O8")
    assert "row 10" in str(exc.value) and "[rule: numeric-value]" in str(exc.value)


def test_empty_cell_is_not_taken_for_missing(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, ",108,", ",,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "numeric-value")
    assert (v.row, v.column, v.value) == (10, "pm2.5", "")


def test_negative_pm25_is_refused(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, ",108,", ",-5,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "pm25-non-negative")
    assert (v.row, v.column, v.value) == (10, "pm2.5", "-5")


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        ("2010,1,1,8,", "2010,13,1,8,", "month"),
        ("2010,1,1,8,", "2010,2,30,8,", "day"),
        ("2010,1,1,8,", "2010,1,1,24,", "hour"),
    ],
)
def test_impossible_date_or_hour_is_named(tmp_path, old, new, column):
    path = _edit(tmp_path, SINGLE, 10, old, new)
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "valid-date")
    assert (v.file, v.row, v.column) == (str(path), 10, column)


def test_duplicated_hour_of_a_station_is_named(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, "2010,1,1,8,", "2010,1,1,7,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "unique-station-hour")
    # named as outputs name it: relative to the project, here (outside it) by its file name
    assert (v.file, v.row, v.value) == (path.name, 10, "2010-01-01 07:00")
    assert "row 9" in v.message


def test_same_station_hour_in_two_files_is_named(tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(SINGLE.read_bytes())
    stations = [
        StationFile(str(SINGLE), _sha(SINGLE), station="Embassy"),
        StationFile(str(copy), _sha(copy), station="Embassy"),
    ]
    with pytest.raises(InputError) as exc:
        read_stations(stations)
    v = _only(exc, "unique-station-hour")
    # both files named as outputs name them: relative to the project, else by file name
    assert v.file == export_label(copy) == "copy.csv" and v.row == 2
    assert export_label(SINGLE) in v.message and str(SINGLE.parent) not in v.message


@pytest.mark.parametrize(
    ("content", "rule"), [(b"", "non-empty-file"), (b"\n\n", "non-empty-file")]
)
def test_empty_file_is_refused(tmp_path, content, rule):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert _only(exc, rule).file == str(path)


def test_header_without_rows_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(SINGLE.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert _only(exc, "has-data-rows").row == 1


def test_row_with_a_missing_cell_is_named(tmp_path):
    path = _edit(tmp_path, SINGLE, 7, ",0,0", ",0")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert _only(exc, "row-length").row == 7


def test_blank_line_inside_the_file_is_named_at_its_row(tmp_path):
    lines = SINGLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "blank.csv"
    path.write_text("\n".join([*lines[:5], "", *lines[5:]]) + "\n\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert [v.row for v in exc.value.violations if v.rule == "row-length"] == [6]


def test_unknown_wind_direction_is_named(tmp_path):
    path = _edit(tmp_path, SINGLE, 4, ",NW,", ",NNW,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    v = _only(exc, "wind-direction-code")
    assert (v.row, v.column, v.value) == (4, "cbwd", "NNW")


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter_is_named_once(tmp_path, separator, name):
    path = tmp_path / "semicolons.csv"
    path.write_text(SINGLE.read_text(encoding="utf-8").replace(",", separator), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert [(v.rule, v.row) for v in exc.value.violations] == [("comma-delimited", 1)]
    assert f"separated by {name}" in exc.value.violations[0].message


def test_missing_header_row_is_named_once(tmp_path):
    path = tmp_path / "no_header.csv"
    path.write_text("\n".join(SINGLE.read_text(encoding="utf-8").splitlines()[1:]) + "\n")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert [(v.rule, v.row) for v in exc.value.violations] == [("header-row", 1)]
    assert "header row is missing" in exc.value.violations[0].message


def test_blank_first_line_is_named(tmp_path):
    path = tmp_path / "blank_first.csv"
    path.write_text("\n" + SINGLE.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert [(v.rule, v.row) for v in exc.value.violations] == [("header-row", 1)]


def test_non_utf8_file_is_named_at_its_line(tmp_path):
    text = MULTI.read_text(encoding="utf-8").replace("Dongsi", "东四")
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gb18030"))
    first = next(i for i, line in enumerate(text.splitlines(), 1) if "东四" in line)
    with pytest.raises(InputError) as exc:
        read_station_file(path)
    v = _only(exc, "utf-8-text")
    assert (v.row, v.row_kind) == (first, "line") and f"line {first}:" in str(exc.value)


def test_impossible_date_value_is_shown_as_written(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, "2010,1,1,8,", "2010,13,1,8,")
    with pytest.raises(InputError) as exc:
        read_station_file(path, station="x")
    assert "value 13: month must be 1-12" in str(exc.value)


def test_station_name_must_come_from_file_or_config():
    with pytest.raises(InputError) as exc:
        read_station_file(SINGLE, station=None)
    assert _only(exc, "station-name-known").column == "station"
    with pytest.raises(InputError) as exc:
        read_station_file(MULTI, station="Dongsi")
    v = _only(exc, "station-matches-config")
    assert (v.row, v.value) == (2, "Aotizhongxin")


def test_sha256_mismatch_stops_the_run(tmp_path):
    path = _edit(tmp_path, SINGLE, 10, ",108,", ",109,")
    with pytest.raises(InputError) as exc:
        verify_sha256(path, _sha(SINGLE))
    v = _only(exc, "sha256-matches-config")
    assert v.file == str(path) and v.value == _sha(path) and _sha(SINGLE) in v.message


def test_bad_file_leaves_no_output(tmp_path):
    bad = _edit(tmp_path, SINGLE, 10, ",108,", ",-1,")
    stations = [{"file": str(bad), "sha256": _sha(bad), "station": "x"}]
    with pytest.raises(InputError):
        run_air_quality_data(stations, tmp_path / "out.parquet", tmp_path / "out.json")
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "out.json").exists()
    assert not list(tmp_path.glob(".*.part"))


# --- the bad-input corpus (tests/bad_inputs/air) ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [("baseline.csv", ["--option", "station=US Embassy"]), ("multi_site_baseline.csv", [])],
)
def test_bad_input_baselines_pass_the_check(name, options, tmp_path, monkeypatch, capsys):
    """Every air case is one of these with one defect, so each fails for the defect planted."""
    from hazegov import cli

    monkeypatch.chdir(ROOT)
    argv = ["check", "air", f"tests/bad_inputs/air/{name}", "--out", str(tmp_path), *options]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "hourly.parquet").is_file()


def test_air_cases_are_what_the_script_writes():
    expected = {k: v for k, v in corpus_script().build().items() if k.startswith("air/")}
    on_disk = {
        p.relative_to(BAD_INPUTS).as_posix(): p.read_bytes()
        for p in (BAD_INPUTS / "air").rglob("*")
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(expected)
    changed = [name for name in expected if on_disk[name] != expected[name]]
    assert changed == [], "run tests/bad_inputs/make_policy_and_air_cases.py"


# --- the shipped file ---------------------------------------------------------------------------


def test_shipped_file_matches_its_recorded_sha256_and_size():
    assert SHIPPED.stat().st_size == 2_010_494
    assert verify_sha256(SHIPPED, SHIPPED_SHA256) == SHIPPED_SHA256
    import yaml

    config = yaml.safe_load((ROOT / "config" / "air_quality.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in config["air_quality"]["stations"] if s["file"].endswith(SHIPPED.name))
    assert entry["sha256"] == SHIPPED_SHA256


def test_shipped_file_has_the_documented_rows_and_missing_share():
    """Facts sheet: 43,824 hourly rows 2010-2014, about 4.7% of pm2.5 missing."""
    read = read_station_file(SHIPPED, station="US Embassy")
    frame = read.frame
    assert len(frame) == 43_824
    assert frame["timestamp"].min() == pd.Timestamp("2010-01-01 00:00")
    assert frame["timestamp"].max() == pd.Timestamp("2014-12-31 23:00")
    assert round(100 * frame["pm25"].isna().mean(), 1) == 4.7
    assert frame["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()


def test_swapped_pm25_and_pm10_columns_are_refused(tmp_path):
    """PM2.5 is part of PM10: a file where it is the larger on most hours has its labels
    swapped; the error names file, row, both columns and the rule."""
    text = (FIXTURES / "PRSA_multi_site_two_stations.csv").read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    swapped = header.replace("PM2.5,PM10", "PM10,PM2.5")
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join([swapped, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_station_file(path)
    (problem,) = caught.value.violations
    assert problem.rule == "pm25-not-above-pm10" and problem.column == "PM2.5/PM10"
    assert problem.row == 3 and "look swapped" in problem.message
    good = read_station_file(FIXTURES / "PRSA_multi_site_two_stations.csv")
    assert good.report["share_pm25_above_pm10"] == 0.0 and good.report["hours_with_both"] == 47
