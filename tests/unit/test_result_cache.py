"""The result cache: a result is found only under everything it depends on, one file a job."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazegov.robustness.result_cache import (
    PARQUET_STABLE_DTYPES,
    FrameShard,
    ResultCache,
    RowsShard,
    keeps_its_values_in_parquet,
)


def test_keys_depend_on_settings_inputs_and_namespace(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"one")
    cache = ResultCache(tmp_path / "cache", [data], "spec", "g1")
    key = cache.key({"a": 1, "b": [1, 2]})
    assert key == cache.key({"b": [1, 2], "a": 1})  # order of keys does not matter
    assert key != cache.key({"a": 2, "b": [1, 2]})
    other_kind = ResultCache(tmp_path / "cache", [data], "sample", "g1")
    assert key != other_kind.key({"a": 1, "b": [1, 2]})
    data.write_bytes(b"two")  # another input content: another key
    assert key != ResultCache(tmp_path / "cache", [data], "spec", "g1").key({"a": 1, "b": [1, 2]})


def test_get_put_round_trip_and_counts(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    cache = ResultCache(tmp_path / "cache", [data], "spec", "g1")
    key = cache.key({"spec": "s1"})
    assert cache.get(key) is None
    stored = cache.put(key, {"estimate": 0.25, "effects": ("LEAD",)})
    assert stored == {"estimate": 0.25, "effects": ["LEAD"]}  # as JSON gives it back
    assert cache.get(key) == stored
    assert (cache.hits, cache.misses) == (1, 1)
    cache.save()
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # written atomically


def test_a_damaged_entry_counts_as_missing(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    cache = ResultCache(tmp_path / "cache", [data], "spec", "g1")
    key = cache.key({"spec": "s1"})
    cache.put(key, {"estimate": 1})
    cache.save()
    (tmp_path / "cache" / "spec" / "g1.json").write_text("{", encoding="utf-8")
    assert ResultCache(tmp_path / "cache", [data], "spec", "g1").get(key) is None


def test_a_shard_keeps_a_jobs_members_in_one_file_written_once(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    cache = ResultCache(tmp_path / "cache", [data], "spec", shard="group1")
    keys = [cache.key({"spec": f"s{i}"}) for i in range(3)]
    for i, key in enumerate(keys):
        cache.put(key, {"estimate": i})
    assert not list((tmp_path / "cache").rglob("*.json"))  # nothing written before save
    cache.save()
    assert [p.name for p in (tmp_path / "cache").rglob("*.json")] == ["group1.json"]
    again = ResultCache(tmp_path / "cache", [data], "spec", shard="group1")
    assert [again.get(k) for k in keys] == [{"estimate": i} for i in range(3)]
    # a later run with another setting adds to the shard; the earlier members stay
    again.put(again.key({"spec": "s9"}), {"estimate": 9})
    again.save()
    third = ResultCache(tmp_path / "cache", [data], "spec", shard="group1")
    assert third.get(keys[0]) == {"estimate": 0} and third.get(third.key({"spec": "s9"}))
    # other input content: the shard's members can never be looked up again and are dropped
    data.write_bytes(b"y")
    other = ResultCache(tmp_path / "cache", [data], "spec", shard="group1")
    other.put(other.key({"spec": "s1"}), {"estimate": 5})
    other.save()
    kept = json.loads((tmp_path / "cache" / "spec" / "group1.json").read_text(encoding="utf-8"))
    assert list(kept["members"].values()) == [{"estimate": 5}]


def test_a_frame_shard_gives_back_what_a_fresh_frame_gives(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    frames = {
        "a": pd.DataFrame({"q1": pd.array([1, None, 3], dtype="Int64"), "t": [0.5, 1.5, 2.5]}),
        "b": pd.DataFrame({"q1": pd.array([None, None], dtype="Int64"), "t": [1.0, 2.0]}),
    }
    shard = FrameShard(tmp_path / "cache", [data], "responses", "n3_r0-1")
    fresh = {name: shard.get(shard.key({"rep": name}), lambda f=f: f) for name, f in frames.items()}
    shard.save()
    kept = FrameShard(tmp_path / "cache", [data], "responses", "n3_r0-1")
    for name, frame in frames.items():
        got = kept.get(kept.key({"rep": name}), lambda: pytest.fail("recomputed"))
        pd.testing.assert_frame_equal(got, fresh[name])
        pd.testing.assert_frame_equal(got, frame)
    assert (kept.hits, kept.misses) == (2, 0)
    assert [p.name for p in (tmp_path / "cache").rglob("*.parquet")] == ["n3_r0-1.parquet"]


def _through_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return pd.read_parquet(io.BytesIO(buffer.getvalue()))


def test_frames_of_the_stable_dtypes_come_back_from_parquet_bit_for_bit() -> None:
    """What lets FrameShard skip the round trip: every dtype it trusts, with missing values and
    extremes, reads back equal, with the same dtype, the same bits and the same index."""
    big = np.iinfo(np.int64)
    frame = pd.DataFrame(
        {
            "int64": np.array([big.min, -1, 0, big.max], dtype=np.int64),
            "Int64": pd.array([None, big.min, 0, big.max], dtype="Int64"),
            "float64": np.array([np.nan, -0.0, 1e-310, np.inf]),
            "bool": np.array([True, False, True, False]),
            "boolean": pd.array([None, True, False, None], dtype="boolean"),
            "datetime64[ns]": pd.to_datetime(
                [
                    "2016-03-15 08:01:02.123456789",
                    None,
                    "1970-01-01 00:00:00",
                    "2262-04-11 00:00:00",
                ],
                format="ISO8601",
            ),
        }
    )
    assert set(map(str, frame.dtypes)) == PARQUET_STABLE_DTYPES
    assert keeps_its_values_in_parquet(frame)
    back = _through_parquet(frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.index.equals(frame.index) and isinstance(back.index, pd.RangeIndex)
    for name in frame.columns:
        assert str(back[name].dtype) == name
    assert np.signbit(back["float64"].to_numpy()[1])
    assert back["float64"].to_numpy().tobytes() == frame["float64"].to_numpy().tobytes()


def test_other_frames_are_given_back_as_parquet_gives_them(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    others = {
        "text": pd.DataFrame({"q1": ["a", None]}),
        "category": pd.DataFrame({"q1": pd.Categorical(["a", "b"])}),
        "int32": pd.DataFrame({"q1": np.array([1, 2], dtype=np.int32)}),
        "index": pd.DataFrame({"q1": [1, 2]}, index=[5, 6]),
        "attrs": pd.DataFrame({"q1": [1, 2]}).pipe(lambda f: f.attrs.update(a=1) or f),
    }
    shard = FrameShard(tmp_path / "cache", [data], "responses", "n2_r0-1")
    for name, frame in others.items():
        assert not keeps_its_values_in_parquet(frame), name
        got = shard.get(shard.key({"rep": name}), lambda f=frame: f)
        pd.testing.assert_frame_equal(got, _through_parquet(frame), check_exact=True)
        assert got is not frame


def test_a_member_kept_by_another_job_is_found_and_copied(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    one_job = ResultCache(tmp_path / "cache", [data], "spec", shard="all")
    key = one_job.key({"spec": "s1"})
    one_job.put(key, {"estimate": 1})
    one_job.save()
    split = ResultCache(tmp_path / "cache", [data], "spec", shard="half1")
    assert split.get(key) == {"estimate": 1}
    assert (split.hits, split.misses) == (1, 0)
    split.save()
    kept = json.loads((tmp_path / "cache" / "spec" / "half1.json").read_text(encoding="utf-8"))
    assert list(kept["members"].values()) == [{"estimate": 1}]


def test_kept_rows_give_the_values_of_computed_rows(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    computed = {
        "a": [{"estimate": "b_LEAD", "value": 0.25, "p": None, "converged": True, "n": 230}],
        "b": [{"estimate": "b_LEAD", "value": 1 / 3, "p": 0.01, "converged": False, "n": 7}],
    }
    shard = RowsShard(tmp_path / "cache", [data], "ols", "n230_r0-1")
    fresh = {k: shard.get(shard.key({"rep": k}), lambda r=rows: r) for k, rows in computed.items()}
    shard.save()
    kept = RowsShard(tmp_path / "cache", [data], "ols", "n230_r0-1")
    again = {k: kept.get(kept.key({"rep": k}), lambda: pytest.fail("recomputed")) for k in fresh}
    assert (kept.hits, kept.misses) == (2, 0)
    # the same table whichever way the rows came (a missing number is NaN in a table)
    pd.testing.assert_frame_equal(
        pd.DataFrame([row for rows in fresh.values() for row in rows]),
        pd.DataFrame([row for rows in again.values() for row in rows]),
    )
    assert [p.name for p in (tmp_path / "cache").rglob("*.parquet")] == ["n230_r0-1.parquet"]
