"""The SPSS copy and the data dictionary: labelled, complete and reproducible."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
import yaml

from hazegov.cleaning import apply_exclusions, read_provenance, write_parquet
from hazegov.ingest import ingest_export
from hazegov.release import data_dictionary, write_sav

from .conftest import DEFAULT_EXPORT, ROOT

RULES = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["exclusions"]


@pytest.fixture(scope="module")
def analysis(codebook) -> pd.DataFrame:
    return apply_exclusions(
        ingest_export(DEFAULT_EXPORT, codebook).responses, codebook, RULES
    ).analysis


def test_sav_carries_labels_and_the_data(tmp_path, analysis, codebook):
    path = tmp_path / "analysis.sav"
    write_sav(analysis, codebook, path, "SYNTHETIC DATA - test")
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.file_label == "SYNTHETIC DATA - test"
    assert len(frame) == len(analysis)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["LEAD4"].endswith("(reverse-coded) / 雾霾防治的综合管理存在缺位和错位现象")
    assert meta.variable_value_labels["LEAD1"][5.0] == "Strongly agree / 非常同意"
    assert meta.variable_value_labels["resp_group"][8.0] == "Community residents / 社区居民"
    pd.testing.assert_series_equal(frame["LEAD1"], analysis["LEAD1"].astype(float))
    group_codes = {o.id: o.code for o in codebook.respondent_group.options}
    assert frame["resp_group"].tolist() == analysis["resp_group"].map(group_codes).tolist()


def test_sav_bytes_do_not_depend_on_the_time_of_writing(tmp_path, analysis, codebook):
    a, b = tmp_path / "a.sav", tmp_path / "b.sav"
    write_sav(analysis, codebook, a, "x")
    write_sav(analysis, codebook, b, "x")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes()[92:109] == b"01 Jan 1600:00:00"


def test_dictionary_documents_every_column(analysis, codebook):
    dictionary = data_dictionary(codebook, analysis)
    assert dictionary["variable"].tolist() == list(analysis.columns)
    assert dictionary["label_zh"].str.len().gt(0).all()
    assert dictionary["label_en"].str.len().gt(0).all()
    row = dictionary.set_index("variable").loc["EFF4"]
    assert bool(row["reverse_coded"]) and row["construct"] == "EFF" and row["valid_range"] == "1-5"


def test_parquet_records_its_data_source(tmp_path, analysis):
    path = tmp_path / "a.parquet"
    write_parquet(analysis, path, {"synthetic": True, "seed": 1})
    assert read_provenance(path) == {"synthetic": True, "seed": 1}
    assert pd.read_parquet(path).equals(analysis)
