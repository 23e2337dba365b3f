"""Daily, monthly and annual means under the completeness rules, and exceedance counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazegov.air import (
    CITY_WIDE,
    Completeness,
    annual_means,
    city_wide_daily,
    daily_means,
    monthly_means,
    read_station_file,
)
from tests.support import paths

FIXTURES = paths.FIXTURES / "air"
THRESHOLDS = {"grade_ii_24h": 75.0, "heavy": 150.0}


def _hourly(daily_values: dict[str, list[float]], station: str = "S") -> pd.DataFrame:
    """Hourly rows: for each date, 24 hours whose PM2.5 values are given (NaN = missing)."""
    rows = []
    for date, values in daily_values.items():
        assert len(values) == 24
        for hour, value in enumerate(values):
            rows.append({"timestamp": pd.Timestamp(date) + pd.Timedelta(hours=hour), "pm25": value})
    frame = pd.DataFrame(rows)
    frame["station"] = station
    for column in ("dewp", "temp", "pres", "wind_speed", "rain_mm", "snow_hours_cum"):
        frame[column] = np.nan
    frame["wind_speed_cum"] = 1.0
    frame["rain_hours_cum"] = 0.0
    frame["wind_dir"] = pd.array(["NW"] * len(frame), dtype="string")
    frame["family"] = "prsa_single_site"
    return frame


def _hours(valid: int, value: float) -> list[float]:
    return [value] * valid + [np.nan] * (24 - valid)


def test_a_day_with_19_valid_hours_is_dropped_and_20_kept():
    hourly = _hourly(
        {
            "2014-01-01": _hours(24, 80.0),
            "2014-01-02": _hours(19, 500.0),
            "2014-01-03": _hours(20, 40.0),
        }
    )
    daily = daily_means(hourly, min_hours=20).set_index("date")
    assert daily["n_hours"].tolist() == [24, 19, 20]
    assert daily["valid"].tolist() == [True, False, True]
    assert daily.loc["2014-01-01", "pm25"] == 80.0
    assert np.isnan(daily.loc["2014-01-02", "pm25"])
    assert daily.loc["2014-01-03", "pm25"] == 40.0


def test_daily_mean_is_the_mean_of_the_valid_hours():
    values = [float(h) for h in range(24)]
    values[0] = values[1] = np.nan  # 22 valid hours: 2..23, mean 12.5
    daily = daily_means(_hourly({"2014-05-01": values}), min_hours=20)
    assert daily["pm25"].item() == pytest.approx(12.5)


def test_days_without_rows_are_listed_as_invalid():
    hourly = _hourly({"2014-01-01": _hours(24, 10.0), "2014-01-04": _hours(24, 10.0)})
    daily = daily_means(hourly, min_hours=20)
    assert daily["date"].dt.day.tolist() == [1, 2, 3, 4]
    assert daily["n_hours"].tolist() == [24, 0, 0, 24]
    assert daily["valid"].tolist() == [True, False, False, True]


def test_exceedance_days_are_counted_among_valid_days_above_the_limit():
    # 75 is the limit itself (not above it); 75.5 and 151 are above; the 19-hour day is ignored.
    days = {
        "2014-03-01": _hours(24, 75.0),
        "2014-03-02": _hours(24, 75.5),
        "2014-03-03": _hours(24, 151.0),
        "2014-03-04": _hours(24, 30.0),
        "2014-03-05": _hours(19, 300.0),
        "2014-03-06": _hours(24, 150.0),
    }
    daily = daily_means(_hourly(days), min_hours=20)
    annual = annual_means(daily, Completeness(), THRESHOLDS).iloc[0]
    assert annual["n_valid_days"] == 5
    assert annual["days_above_grade_ii_24h"] == 3  # 75.5, 151, 150
    assert annual["days_above_heavy"] == 1  # 151 only
    assert annual["share_above_grade_ii_24h"] == pytest.approx(3 / 5)
    assert annual["pm25_mean"] == pytest.approx((75 + 75.5 + 151 + 30 + 150) / 5)


def test_monthly_completeness_follows_the_february_rule():
    dates = pd.date_range("2015-02-01", "2015-03-31", freq="D")
    missing = set(pd.date_range("2015-02-01", periods=4)) | set(
        pd.date_range("2015-03-01", periods=5)
    )
    hourly = _hourly({d: _hours(4 if d in missing else 24, 50.0) for d in dates})
    monthly = monthly_means(daily_means(hourly, 20), Completeness(), THRESHOLDS)
    feb, mar = monthly.iloc[0], monthly.iloc[1]
    assert (feb["n_valid_days"], feb["complete"]) == (24, False)  # 24 < 25 in February
    assert (mar["n_valid_days"], mar["complete"]) == (26, False)  # 26 < 27
    hourly = _hourly({d: _hours(24, 50.0) for d in dates if d.day > 3})
    monthly = monthly_means(daily_means(hourly, 20), Completeness(), THRESHOLDS)
    assert monthly["complete"].tolist() == [True, True]  # 25 in Feb (from the 4th), 28 in March


def test_fixture_days_have_the_hand_computed_means():
    single = daily_means(read_station_file(FIXTURES / "PRSA_single_site_sample.csv", "E").frame, 20)
    assert single["pm25"].tolist() == pytest.approx([113.0, 151.5])  # 21 and 24 valid hours
    assert single["precip_hours"].tolist() == [0, 2]
    assert single["wind_dir"].tolist() == ["NW", "NW"]  # 12 NW and 12 SE hours: tie -> NW
    multi = daily_means(read_station_file(FIXTURES / "PRSA_multi_site_two_stations.csv").frame, 20)
    means = multi.set_index("series")["pm25"]
    assert means["Aotizhongxin"] == pytest.approx(21.5)
    assert means["Dongsi"] == pytest.approx((sum(range(30, 54)) - 34) / 23)


def test_city_wide_day_is_the_mean_of_station_daily_means():
    a = _hourly({"2014-01-01": _hours(24, 100.0), "2014-01-02": _hours(24, 60.0)}, station="A")
    b = _hourly({"2014-01-01": _hours(24, 50.0), "2014-01-02": _hours(10, 90.0)}, station="B")
    daily = daily_means(pd.concat([a, b], ignore_index=True), min_hours=20)
    city = city_wide_daily(daily, min_stations=1)
    assert (city["series"] == CITY_WIDE).all()
    assert city["pm25"].tolist() == pytest.approx([75.0, 60.0])  # B's second day is invalid
    assert city["n_stations"].tolist() == [2, 1]
    strict = city_wide_daily(daily, min_stations=2)
    # The city-wide series ends with the last day two stations cover.
    assert strict["valid"].tolist() == [True]
    assert strict["date"].tolist() == [pd.Timestamp("2014-01-01")]


def test_city_wide_series_spans_only_the_days_enough_stations_cover():
    """A station from 2010 and one from 2013: no empty city-wide years before 2013."""
    early = _hourly({d: _hours(24, 80.0) for d in ("2010-06-01", "2013-03-01")}, station="A")
    late = _hourly({"2013-03-01": _hours(24, 40.0)}, station="B")
    daily = daily_means(pd.concat([early, late], ignore_index=True), min_hours=20)
    city = city_wide_daily(daily, min_stations=2)
    assert city["date"].tolist() == [pd.Timestamp("2013-03-01")]
    annual = annual_means(
        pd.concat([daily.assign(n_stations=1), city], ignore_index=True), Completeness(), THRESHOLDS
    )
    assert annual.loc[annual["series"] == CITY_WIDE, "year"].tolist() == [2013]


def test_part_years_are_flagged_with_the_months_they_cover():
    hourly = _hourly(
        {
            d.strftime("%Y-%m-%d"): _hours(24, 50.0)
            for d in pd.date_range("2013-03-01", "2015-02-28")
        }
    )
    annual = annual_means(daily_means(hourly, 20), Completeness(), THRESHOLDS)
    by_year = annual.set_index("year")
    assert by_year["part_year"].to_dict() == {2013: True, 2014: False, 2015: True}
    assert by_year["complete"].to_dict() == {2013: False, 2014: True, 2015: False}
    assert by_year["months_covered"].to_dict() == {
        2013: "March to December",
        2014: "January to December",
        2015: "January and February",
    }
