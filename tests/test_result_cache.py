"""The per-member result cache: a result is found only under everything it depends on."""

from __future__ import annotations

from pathlib import Path

from hazegov.result_cache import ResultCache


def test_keys_depend_on_settings_inputs_and_namespace(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"one")
    cache = ResultCache(tmp_path / "cache", [data], "spec")
    key = cache.key({"a": 1, "b": [1, 2]})
    assert key == cache.key({"b": [1, 2], "a": 1})  # order of keys does not matter
    assert key != cache.key({"a": 2, "b": [1, 2]})
    assert key != ResultCache(tmp_path / "cache", [data], "sample").key({"a": 1, "b": [1, 2]})
    data.write_bytes(b"two")  # another input content: another key
    assert key != ResultCache(tmp_path / "cache", [data], "spec").key({"a": 1, "b": [1, 2]})


def test_get_put_round_trip_and_counts(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    cache = ResultCache(tmp_path / "cache", [data], "spec")
    key = cache.key({"spec": "s1"})
    assert cache.get(key) is None
    stored = cache.put(key, {"estimate": 0.25, "effects": ("LEAD",)})
    assert stored == {"estimate": 0.25, "effects": ["LEAD"]}  # as JSON gives it back
    assert cache.get(key) == stored
    assert (cache.hits, cache.misses) == (1, 1)
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # written atomically


def test_a_damaged_entry_counts_as_missing(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x")
    cache = ResultCache(tmp_path / "cache", [data], "spec")
    key = cache.key({"spec": "s1"})
    cache.put(key, {"estimate": 1})
    next((tmp_path / "cache").rglob(f"{key}.json")).write_text("{", encoding="utf-8")
    assert cache.get(key) is None
