"""The released data set: generalised, k-anonymous, labelled, complete and reproducible."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
import yaml

from hazegov.errors import ConfigError
from hazegov.io import read_provenance, write_parquet
from hazegov.privacy.release import (
    KAnonymityError,
    ReleaseSpec,
    check_k_anonymity,
    data_dictionary,
    privacy_variables,
    release_frame,
    write_sav,
)
from hazegov.survey.cleaning import apply_exclusions
from hazegov.survey.ingest import ingest_export
from tests.support.paths import DEFAULT_EXPORT, ROOT, TEST_EXPORT

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
TEST_CONFIG = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text("utf-8"))
RULES = CONFIG["exclusions"]
SPEC = ReleaseSpec.from_config(CONFIG["privacy"]["release"])


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


# --------------------------------------------------------------------------- the release


def _people(rows: list[tuple[str, int, object, int]]) -> pd.DataFrame:
    """A hand-built analysis frame: (sector, gender, age_band, how many)."""
    government = {"government_administration": True}
    group = {
        "government_administration": "fengtai_epb",
        "public_health_institution": "daxing_cdc",
        "primary_care_provider": "community_health_centre_staff",
        "community_residents": "community_residents",
    }
    records = []
    for sector, gender, age, count in rows:
        for _ in range(count):
            records.append(
                {
                    "respondent_id": f"R{len(records) + 1:03d}",
                    "resp_group": group[sector],
                    "sector": sector,
                    "government": government.get(sector, sector == "public_health_institution"),
                    "gender": gender,
                    "age_band": age,
                    "education": 3,
                    "years_in_post": pd.NA if sector == "community_residents" else 2,
                    "role": pd.NA if sector == "community_residents" else 4,
                    "LEAD1": (len(records) % 5) + 1,
                }
            )
    frame = pd.DataFrame(records)
    for column in ("gender", "age_band", "education", "years_in_post", "role", "LEAD1"):
        frame[column] = frame[column].astype("Int64")
    frame["sector"] = frame["sector"].astype("string")
    frame["government"] = frame["government"].astype("boolean")
    return frame


PASSING = [
    ("government_administration", 1, 1, 6),
    ("government_administration", 1, 4, 5),
    ("public_health_institution", 2, 4, 3),  # age 4 and 5 become one band of 5
    ("public_health_institution", 2, 5, 2),
    ("community_residents", 2, 3, 7),
]
RARE = [
    ("community_residents", 2, 5, 2),
    ("primary_care_provider", 1, 2, 1),
    ("community_residents", 1, pd.NA, 3),  # missing age counts as a value of its own
]


def test_release_generalises_withholds_and_renumbers(codebook):
    analysis = _people(PASSING)
    released = release_frame(analysis, codebook, SPEC)
    assert list(released.columns) == [
        "case_id", "sector", "government", "gender", "age_band", "LEAD1"
    ]  # fmt: skip
    assert released["case_id"].tolist() == list(range(1, len(analysis) + 1))
    assert sorted(released["age_band"].tolist()) == [1] * 13 + [2] * 10
    # Rows are sorted by their values: the row order says nothing about submission order.
    assert released["sector"].tolist() == sorted(analysis["sector"].tolist())
    ages = released.groupby("sector")["age_band"].agg(set).to_dict()
    assert ages == {
        "community_residents": {1},
        "government_administration": {1, 2},
        "public_health_institution": {2},
    }
    result = check_k_anonymity(released, codebook, SPEC, "analysis.parquet")
    assert (result.k, result.smallest_class, result.n_classes) == (5, 5, 4)
    assert result.n_records == 23


def test_every_rare_combination_is_listed_with_its_count(codebook):
    released = release_frame(_people(PASSING + RARE), codebook, SPEC)
    with pytest.raises(KAnonymityError) as caught:
        check_k_anonymity(released, codebook, SPEC, "results/processed/analysis.parquet")
    message = str(caught.value)
    assert len(caught.value.violations) == 3
    assert all(v.rule == "k-anonymity" for v in caught.value.violations)
    for line in (
        "sector=primary_care_provider, government=no, gender=Male, age_band=Under 45: "
        "1 respondent (k=5)",
        "sector=community_residents, government=no, gender=Female, age_band=45 or older: "
        "2 respondents (k=5)",
        "sector=community_residents, government=no, gender=Male, age_band=(missing): "
        "3 respondents (k=5)",
    ):
        assert line in message
    assert "results/processed/analysis.parquet" in message and "[rule: k-anonymity]" in message
    assert "not 5-anonymous on sector, government, gender, age_band" in message


def test_all_rare_combinations_are_listed_even_when_there_are_many(codebook):
    rows = [("government_administration", 1, 1, 200)]
    rows += [("community_residents", 1 + i % 2, 1 + i % 5, 1) for i in range(10)]
    spec = ReleaseSpec.from_config(CONFIG["privacy"]["release"] | {"generalise": {}})
    released = release_frame(_people(rows), codebook, spec)
    with pytest.raises(KAnonymityError) as caught:
        check_k_anonymity(released, codebook, spec, "a.parquet")
    assert len(caught.value.violations) == 10
    assert "... and" not in str(caught.value)


def test_a_spec_that_does_not_fit_the_data_is_refused_listing_every_problem(codebook):
    raw = CONFIG["privacy"]["release"]
    bad = raw | {
        "quasi_identifiers": ["sector", "gender", "age_band", "role", "shoe_size"],
        "withheld": ["respondent_id", "resp_group", "role", "years_in_post"],
        "generalise": {"age_band": [{"code": 1, "en": "Any", "zh": "全部", "from": [1, 2, 3]}]},
    }
    with pytest.raises(ConfigError) as caught:
        release_frame(_people(PASSING), codebook, ReleaseSpec.from_config(bad))
    message = str(caught.value)
    for fragment in (
        "'shoe_size' is not a column of the analysis data set",
        "'role' is also withheld",
        "age_band code 4 is not mapped to a level",
        "age_band code 5 is not mapped to a level",
        "'education' is a released demographic column but not a quasi-identifier",
        "'government' is a released demographic column but not a quasi-identifier",
    ):
        assert fragment in message
    assert "[rule: release-spec]" in message


def test_released_sav_and_dictionary_describe_the_generalisation(tmp_path, codebook):
    released = release_frame(_people(PASSING), codebook, SPEC)
    path = tmp_path / "release.sav"
    write_sav(released, codebook, path, "SYNTHETIC DATA - release", SPEC)
    frame, meta = pyreadstat.read_sav(str(path))
    assert list(frame.columns) == list(released.columns)
    assert meta.variable_value_labels["age_band"] == {
        1.0: "Under 45 / 45岁以下",
        2.0: "45 or older / 45岁及以上",
    }
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["age_band"] == "Age: (generalised) / 您的年龄："
    dictionary = data_dictionary(codebook, released, SPEC).set_index("variable")
    assert list(dictionary.index) == list(released.columns)
    assert "resp_group" not in dictionary.index and "education" not in dictionary.index
    age = dictionary.loc["age_band"]
    assert age["values"] == "1=Under 45; 2=45 or older" and age["valid_range"] == "1-2"
    assert "2 (45 or older) <- 4 (45 to 54), 5 (55 or older)" in age["release"]
    assert "quasi-identifier" in age["release"]
    assert dictionary.loc["LEAD1", "release"] == ""


@pytest.mark.parametrize(
    ("export", "config"),
    [(DEFAULT_EXPORT, CONFIG), (TEST_EXPORT, TEST_CONFIG)],
    ids=["default", "test"],
)
def test_the_synthetic_data_sets_are_k_anonymous_as_configured(codebook, export, config):
    analysis = apply_exclusions(
        ingest_export(export, codebook).responses, codebook, config["exclusions"]
    ).analysis
    spec = ReleaseSpec.from_config(config["privacy"]["release"])
    released = release_frame(analysis, codebook, spec)
    result = check_k_anonymity(released, codebook, spec, export)
    assert result.smallest_class >= spec.k
    assert not set(spec.withheld) & set(released.columns)
    words = privacy_variables(spec, result, 5)
    assert words["quasi_identifiers_text"] == (
        "sector, government or not, gender and age band (coarsened to under 45 and 45 or older)"
    )
    assert words["smallest_class"] == result.smallest_class


@pytest.mark.parametrize(
    ("synthetic", "label"),
    [(True, "SYNTHETIC DATA - Clean-air survey"), (False, "Clean-air survey")],
)
def test_the_release_sav_is_labelled_from_the_config(tmp_path, analysis, synthetic, label):
    """config release.label names the data set: another questionnaire's is not the haze survey."""
    from hazegov.privacy.release import run_release

    source = tmp_path / "analysis.parquet"
    write_parquet(analysis, source, {"synthetic": synthetic})
    out = {
        name: tmp_path / f"out.{name}"
        for name in ("sav", "csv", "dictionary", "report", "variables")
    }
    run_release(
        analysis=source,
        codebook=ROOT / "config" / "codebook.yaml",
        release=CONFIG["privacy"]["release"],
        min_cell_count=5,
        sav_out=out["sav"],
        csv_out=out["csv"],
        dictionary_out=out["dictionary"],
        report_out=out["report"],
        variables_out=out["variables"],
        file_label="Clean-air survey",
    )
    _, meta = pyreadstat.read_sav(str(out["sav"]), metadataonly=True)
    assert meta.file_label == label
