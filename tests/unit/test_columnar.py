"""The columnar survey code gives what the row-by-row code gave (issue 12).

Each vectorised step is compared with the per-cell or per-row code it replaced, kept in
tests/support/reference_survey.py: the label mapping cell by cell, the whole ingest on tricky
exports (responses, data-quality log and report, or the error message word for word), the
straight-lining share and person-mean imputation.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import random
from datetime import datetime

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pytest

from hazegov.analysis.sample import (
    apply_missing_data_rule,
    build_analysis_sample,
    construct_scores,
    sample_of_columns,
)
from hazegov.errors import ExportError
from hazegov.survey.cleaning import (
    EXCLUSION_ORDER,
    _flag_duplicates,
    analysis_columns,
    analysis_frame,
    apply_exclusions,
    exclusion_measures,
    judge_measures,
    measured_settings,
    modal_share,
)
from hazegov.survey.codebook import load_codebook
from hazegov.survey.ingest import (
    TIME_FORMATS,
    _schema_holds,
    _strict_quotes,
    _timestamp,
    _validate_frame,
    code_cells,
    ingest_export,
    response_schema,
)
from hazegov.survey.synthetic import write_export
from tests.support import reference_survey as reference
from tests.support.other_instrument import ARM_BLOCKS, write_arm_codebook
from tests.support.paths import DEFAULT_EXPORT
from tests.support.survey import RULES

SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"
LEAD1 = "7(北京市雾霾治理有明确的牵头主体)"


def _wide(text: str) -> str:
    """Full-width form of the ASCII characters of `text`."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def _tricky_cells(var, cb) -> list[str]:
    cells = [
        "",
        " ",
        "(空)",
        "（空）",
        " ( 空 ) ",
        "(跳过)",
        "-1",
        "-2",
        "-3",
        "－１",
        "-0",
        "0",
        "6",
        "44",
        "007",
        "+3",
        "3.0",
        "٣",
        "很同意",
        "abc",
        "其它",
        "其他〖网格员〗",
        "其他〖 网格员 〗",
        "其他 〖社区志愿者〗 ",
        "其他〖〗",
        "其他〖a〗b〗",
        "其他【网格员】",
        "其他〖我的电话13812345678〗",
        "99999999999999999999",
    ]
    for option in var.options:
        cells += [
            option.zh,
            f" {' '.join(option.zh)} ",
            f"\u3000{option.zh}\u3000",
            option.en,
            _wide(option.en),
            option.en.upper(),
            str(option.code),
            _wide(str(option.code)),
            option.zh.replace("~", "～"),
            option.zh.replace("~", "〜"),
        ]
    return cells


def _reference_code(var, cell: str, cb) -> tuple[int | None, str | None, str | None]:
    """What the former per-cell `_code` gave for one cell, and the rule it reported."""
    problems: list = []
    quality: list = []
    where = {"row": 2, "column": var.header, "value": cell.strip()}
    code, fill = reference._code(var, cell.strip(), cb, "f", where, problems, "missing", quality)
    rules = [p.rule for p in problems] + [q["rule"] for q in quality]
    return code, fill, rules[0] if rules else None


def test_label_mapping_matches_the_per_cell_rule_on_tricky_cells(codebook):
    for var in codebook.variables:
        if not var.is_coded:
            continue
        cells = _tricky_cells(var, codebook)
        cells = cells + cells[::-1]  # repeated texts take the result of their first reading
        codes, fills, rules = code_cells(var, cells, codebook)
        assert str(codes.dtype) == "Int64"
        for cell, code, fill, rule in zip(cells, codes, fills, rules, strict=True):
            want = _reference_code(var, cell, codebook)
            got = (None if pd.isna(code) else int(code), fill, rule)
            assert got == want, (var.name, cell)


def test_platform_times_are_read_as_strptime_reads_them():
    def strptime(cell: str) -> datetime | None:
        for fmt in TIME_FORMATS:
            try:
                return datetime.strptime(cell, fmt)
            except ValueError:
                continue
        return None

    cells = [
        "2016/3/7 9:05:01",
        "2016/03/07 09:05:01",
        "2016/12/31 23:59:59",
        "2016/2/29 0:00:00",
        "2015/2/29 0:00:00",
        "2016/2/30 10:00:00",
        "2016/4/31 10:00:00",
        "2016/13/1 10:00:00",
        "2016/0/1 10:00:00",
        "2016/1/0 10:00:00",
        "2016/1/32 10:00:00",
        "2016/1/1 24:00:00",
        "2016/1/1 10:60:00",
        "2016/1/1 10:00:60",
        "2016/1/1 10:00:61",
        "2016/1/1 10:0:00",
        "2016/1/1 10:00:0",
        "0000/1/1 0:00:00",
        "0999/1/1 0:00:00",
        "16/1/1 0:00:00",
        "2016/1/1  9:05:01",
        "2016/1/ 1 9:05:01",
        "２０１６/3/7 9:05:01",
        "2016-03-07 09:05:01",
        "2016-3-7 9:05",
        "2016/3/7 9:05",
        "2016/3/7",
        "2016/3/7 9:05:01 ",
        "abc",
        "",
    ]
    for cell in cells:
        assert _timestamp(cell) == strptime(cell), cell


def test_quote_check_accepts_exactly_what_the_strict_csv_reader_accepts():
    rng = random.Random(12)
    alphabet = ["a", ",", '"', "\r", "\n", " ", "中", "\r\n"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        try:
            list(csv.reader(io.StringIO(text, newline=""), strict=True))
            accepted = True
        except csv.Error:
            accepted = False
        assert _strict_quotes(text) == accepted, repr(text)


def _outcome(read, path, codebook, policy):
    try:
        result = read(path, codebook, out_of_range=policy)
    except Exception as exc:  # the message is what is compared
        return f"{type(exc).__name__}: {exc}"
    return result


def _same_ingest(path, codebook) -> None:
    for policy in ("missing", "error"):
        got = _outcome(ingest_export, path, codebook, policy)
        want = _outcome(reference.ingest_export, path, codebook, policy)
        if isinstance(want, str):
            assert got == want
            continue
        assert not isinstance(got, str), got
        pd.testing.assert_frame_equal(got.responses, want.responses, check_exact=True)
        pd.testing.assert_frame_equal(got.quality_log, want.quality_log, check_exact=True)
        pd.testing.assert_frame_equal(got.free_text, want.free_text, check_exact=True)
        # the reference predates the report's account of sheets and footer rows (issue 13)
        assert {k: v for k, v in got.report.items() if k not in LATER_REPORT_KEYS} == want.report


# Report entries added after the row-by-row reference was kept.
LATER_REPORT_KEYS = {
    "sheet",
    "sheets_not_read",
    "platform_footer_row",
    "direct_identifier_columns_absent",
}


def _answers(var, cb) -> list[str]:
    """Cells the codebook reads (labels and codes in any width and spacing, missing-data
    markers and codes, fill-ins, out-of-range codes, which the "missing" policy logs)."""
    cells = [
        c for c in _tricky_cells(var, cb) if _reference_code(var, c, cb)[2] != "label-in-codebook"
    ]
    return cells


def _variant(table: pd.DataFrame, codebook, rng: random.Random, broken: bool) -> pd.DataFrame:
    table = table.copy()
    coded = [v for v in codebook.export_variables if v.is_coded]
    for _ in range(rng.randint(1, 30)):
        var = rng.choice(coded)
        cells = _tricky_cells(var, codebook) if broken else _answers(var, codebook)
        table.loc[rng.randrange(len(table)), var.header] = rng.choice(cells)
    table.loc[rng.randrange(len(table)), SUGGESTIONS] = rng.choice(
        ["多种树,少开车", '他说"好"', "第一行\n第二行", "我的电话13912345678", "( 空 )", ""]
    )
    times = ["2016-03-07 09:05:01", "2016/3/7 9:05", "2016/03/07 09:05:01", "2016/2/29 9:05:01"]
    durations = ["420", " 420 秒", "0秒"]
    numbers = ["0999", " 998 "]
    if broken:
        times += ["2016/2/30 9:05:01", "2016/3/7 24:00:00"]
        durations += ["约五分钟", "-5秒"]
        numbers += ["007", "x", "3"]
    table.loc[rng.randrange(len(table)), "提交答卷时间"] = rng.choice(times)
    table.loc[rng.randrange(len(table)), "所用时间"] = rng.choice(durations)
    table.loc[rng.randrange(len(table)), "序号"] = rng.choice(numbers)
    return table


@pytest.mark.parametrize("seed", range(6))
def test_ingest_matches_the_row_by_row_ingest(tmp_path, codebook, export_table, seed):
    rng = random.Random(seed)
    head = export_table.head(24)
    for k in range(6):
        table = _variant(head, codebook, rng, broken=k > 3) if k else head
        path = tmp_path / f"export{k}.csv"
        write_export(table, path, "csv-utf8" if k % 3 else "csv-gb18030")
        _same_ingest(path, codebook)


def test_ingest_matches_the_row_by_row_ingest_on_broken_rows(tmp_path, codebook, export_table):
    head = export_table.head(12).copy()
    head.loc[3, SUGGESTIONS] = "第一行\n第二行,还有逗号"
    lines = head.to_csv(index=False, lineterminator="\r\n").split("\r\n")
    header, body = lines[0], lines[1:-1]
    cases = {
        "header_twice": [header, *body[:4], header, *body[4:]],
        "blank_lines": ["", header, *body[:2], "", ",,,,", *body[2:], ""],
        "blank_rows_inside": [header, *body[:3], "", "," * header.count(","), *body[3:], ""],
        "long_row": [header, *body[:5], body[5] + ",extra", *body[6:]],
        "short_last_row": [header, *body[:-1], body[-1][:40]],
        "stray_quote": [header, *body[:2], body[2].replace("非常", '"非常"x', 1), *body[3:]],
        "open_quote": [header, *body[:2], body[2] + ',"never closed'],
        "quoted_cells": [header, *(line.replace(",同意,", ',"同意",') for line in body)],
        "doubled_quotes": [header, *body[:2], body[2].replace("(空)", '"say ""(空)"""', 1)],
        "blank_header_row_only": ["", ",,,", header],
    }
    for name, rows in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes("\r\n".join(rows).encode("utf-8-sig"))
        _same_ingest(path, codebook)
    xlsx = tmp_path / "export.xlsx"
    write_export(_variant(head, codebook, random.Random(7), broken=False), xlsx, "xlsx")
    _same_ingest(xlsx, codebook)


def test_straight_lining_share_matches_the_row_by_row_share():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, size=(400, 9)).astype(float)
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:40] = 4.0  # straight-liners
    values[40:45] = np.nan  # nothing answered
    frame = pd.DataFrame(values, columns=[f"i{k}" for k in range(9)], index=range(7, 407))
    frame = frame.astype("Int64")
    items = list(frame.columns)
    got = modal_share(frame, items)
    want = reference.modal_share(frame, items)
    pd.testing.assert_series_equal(got, want, check_exact=True)
    empty = frame.iloc[:0]
    pd.testing.assert_series_equal(
        modal_share(empty, items), reference.modal_share(empty, items), check_index_type=False
    )


@pytest.mark.parametrize("sizes", [(4, 3), (5, 1, 7), (9, 2)])
def test_missing_data_rule_and_scores_match_the_former_ones(sizes):
    rng = np.random.default_rng(len(sizes))
    model = {f"C{k}": [f"c{k}_{j}" for j in range(size)] for k, size in enumerate(sizes)}
    items = [i for group in model.values() for i in group]
    values = rng.integers(1, 6, size=(300, len(items))).astype(float)
    values[rng.random(values.shape) < 0.25] = np.nan
    frame = pd.DataFrame(values, columns=items).astype("Int64")
    frame["control"] = pd.array(np.where(rng.random(300) < 0.1, None, 1), dtype="Int64")
    frame["other"] = rng.random(300)
    for rule in ("listwise", "person_mean"):
        for minimum in (1, 2, 3):
            got = apply_missing_data_rule(
                frame, model, rule, also_required=["control"], min_items_answered=minimum
            )
            want = reference.apply_missing_data_rule(
                frame, model, rule, also_required=["control"], min_items_answered=minimum
            )
            pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
            assert got.report == want.report
            pd.testing.assert_frame_equal(
                construct_scores(got.frame, model),
                reference.construct_scores(got.frame, model),
                check_exact=True,
            )
    floats = frame.astype(float)
    pd.testing.assert_frame_equal(
        construct_scores(floats, model), reference.construct_scores(floats, model), check_exact=True
    )


def test_missing_data_rule_leaves_items_not_shown_as_the_former_rule_did():
    """Items shown to some respondents of a scale and not to others: only the gaps of items
    shown are filled or drop a respondent, the others are counted apart."""
    rng = np.random.default_rng(8)
    model = {"C0": [f"c0_{j}" for j in range(4)], "C1": [f"c1_{j}" for j in range(6)]}
    items = [i for group in model.values() for i in group]
    values = rng.integers(1, 6, size=(300, len(items))).astype(float)
    values[rng.random(values.shape) < 0.2] = np.nan
    frame = pd.DataFrame(values, columns=items).astype("Int64")
    frame["control"] = pd.array(np.where(rng.random(300) < 0.1, None, 1), dtype="Int64")
    conditional = [*items[1:3], *items[5:], "control"]
    shown = pd.DataFrame(rng.random((300, len(conditional))) < 0.7, columns=conditional)
    for column in conditional:  # the ingest sets any answer to an item not shown to missing
        frame.loc[~shown[column], column] = pd.NA
    for rule in ("listwise", "person_mean"):
        for minimum in (1, 2, 3):
            options = {"also_required": ["control"], "min_items_answered": minimum, "shown": shown}
            got = apply_missing_data_rule(frame, model, rule, **options)
            want = reference.apply_missing_data_rule(frame, model, rule, **options)
            pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
            assert got.report == want.report
            assert got.report["not_shown_by_variable"]


def test_duplicates_match_the_text_comparison(codebook):
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(index=range(600, 900))
    for name in codebook.answer_columns:
        if codebook.variable(name).is_coded:
            values = rng.integers(1, 3, len(frame)).astype(float)
            values[rng.random(len(frame)) < 0.3] = np.nan
            frame[name] = pd.array(values, dtype="Int64")
        else:
            texts = np.array([None, "<NA>", "", "网格员"], dtype=object)
            frame[name] = pd.array(texts[rng.integers(0, 4, len(frame))], dtype="string")
    frame = pd.concat([frame, frame.sample(40, random_state=1)])  # exact repeats
    got = _flag_duplicates(frame, codebook)
    pd.testing.assert_series_equal(got, reference.flag_duplicates(frame, codebook))
    assert got.sum() >= 40
    # a missing answer and the text "<NA>" read alike; float columns go through their text
    few = frame[codebook.answer_columns].head(60)
    few = pd.concat([few, few.head(20).fillna({"suggestions": "<NA>"})])
    few = few.astype({name: float for name in codebook.answer_columns[:3]})
    pd.testing.assert_series_equal(
        _flag_duplicates(few, codebook), reference.flag_duplicates(few, codebook)
    )


@pytest.fixture(scope="module")
def default_responses(codebook) -> pd.DataFrame:
    return ingest_export(DEFAULT_EXPORT, codebook).responses


@pytest.mark.parametrize("seed", range(8))
def test_exclusions_match_the_rule_by_rule_exclusions(codebook, default_responses, seed):
    rng = random.Random(seed)
    rules = copy.deepcopy(RULES)
    if seed:
        for rule in rules.values():
            rule["enabled"] = rng.random() < 0.8
        rules["attention_check"]["missing_counts_as_failure"] = rng.random() < 0.5
        rules["min_duration"]["seconds"] = rng.choice([0, 120, 400, 10**6])
        rules["straight_lining"]["min_modal_share"] = rng.choice([0.0, 0.5, 0.95, 1.0])
        rules["item_nonresponse"]["max_missing_share"] = rng.choice([0.0, 0.02, 0.5, 1.0])
    responses = (
        default_responses.sample(frac=1, random_state=seed) if seed % 2 else default_responses
    )
    got = apply_exclusions(responses, codebook, rules)
    want = reference.apply_exclusions(responses, codebook, rules)
    for mine, theirs in [
        (got.analysis, want.analysis),
        (got.flow, want.flow),
        (got.flags, want.flags),
    ]:
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)


@pytest.mark.parametrize("seed", range(4))
def test_kept_measures_judged_under_other_thresholds_match_the_rule_by_rule_exclusions(
    codebook, default_responses, seed, tmp_path
):
    """The rules' measures, taken once and kept in parquet, judged under other thresholds give
    the participant flow and the flags of the rules applied afresh with those thresholds."""
    rng = random.Random(seed)
    rules = copy.deepcopy(RULES)
    for rule in rules.values():
        rule["enabled"] = seed == 0 or rng.random() < 0.8
    rules["attention_check"]["missing_counts_as_failure"] = rng.random() < 0.5
    responses = default_responses.sample(frac=1, random_state=seed)
    frame, measures = exclusion_measures(responses, codebook, rules)
    measures.to_parquet(tmp_path / "measures.parquet", index=False)
    kept_measures = pd.read_parquet(tmp_path / "measures.parquet")
    for seconds, share, missing in itertools.product(
        [0, 120, 400, 10**6], [0.5, 0.95, 1.0], [0.0, 0.02, 1.0]
    ):
        other = copy.deepcopy(rules)
        other["min_duration"]["seconds"] = seconds
        other["straight_lining"]["min_modal_share"] = share
        other["item_nonresponse"]["max_missing_share"] = missing
        assert measured_settings(other) == measured_settings(rules)
        kept, flow, flags = judge_measures(kept_measures, other)
        want = reference.apply_exclusions(responses, codebook, other)
        pd.testing.assert_frame_equal(pd.DataFrame(flow), want.flow, check_exact=True)
        for name in EXCLUSION_ORDER:
            assert (flags[name] == want.flags[name].to_numpy()).all()
        assert (frame["submission_no"] == want.flags["submission_no"]).all()
        assert kept.sum() == len(want.analysis)


def _pandera_passes(frame, codebook) -> bool:
    check = frame.copy()
    for var in codebook.variables:
        if var.is_coded:
            check[var.name] = pd.to_numeric(check[var.name]).astype(float)
    try:
        response_schema(codebook).validate(check, lazy=True)
    except pandera.errors.SchemaErrors:
        return False
    return True


def test_the_schema_shortcut_holds_only_where_pandera_passes(codebook, default_responses):
    frame = default_responses
    assert _schema_holds(frame, codebook) and _pandera_passes(frame, codebook)
    broken = {
        "number zero": frame.assign(submission_no=frame["submission_no"].where(frame.index > 0, 0)),
        "number twice": frame.assign(
            submission_no=frame["submission_no"].where(frame.index > 0, 2)
        ),
        "number as text": frame.assign(submission_no=frame["submission_no"].astype(object)),
        "negative time": frame.assign(duration_s=frame["duration_s"].where(frame.index > 3, -1)),
        "time as float": frame.assign(duration_s=frame["duration_s"].astype(float)),
        "code not an option": frame.assign(LEAD1=frame["LEAD1"].where(frame.index > 5, 9)),
        "code as float": frame.assign(
            LEAD1=frame["LEAD1"].astype(float).where(frame.index > 5, 2.5)
        ),
    }
    for what, bad in broken.items():
        assert not _pandera_passes(bad, codebook), what
        assert not _schema_holds(bad, codebook), what
        with pytest.raises(ExportError, match="fails the codebook schema"):
            _validate_frame(bad, codebook, "export.csv")
    floats = frame.astype({v.name: float for v in codebook.likert_items})
    assert _schema_holds(floats, codebook) and _pandera_passes(floats, codebook)


CONTROLS = ["sector", "gender", "age_band", "education", "years_in_post"]


@pytest.mark.parametrize("kind", ["as released", "items not shown", "items as floats"])
def test_analysis_sample_matches_the_frame_by_frame_sample(
    codebook, default_responses, tmp_path, kind
):
    """The sample built on arrays (from the analysis frame, or from its columns as the
    simulation builds it) is the former frame-by-frame sample: values, dtypes, report."""
    rng = np.random.default_rng(5)
    responses = default_responses.copy()
    n = len(responses)
    for var in codebook.likert_items:
        responses.loc[rng.random(n) < 0.15, var.name] = pd.NA
    for name in ["gender", "education", "years_in_post", "satisfaction"]:
        responses.loc[rng.random(n) < 0.05, name] = pd.NA
    cb = codebook
    if kind == "items not shown":
        cb = load_codebook(write_arm_codebook(tmp_path))
        responses["arm"] = pd.array(np.arange(n) % 3 + 1, dtype="Int64")
        for construct in ARM_BLOCKS:
            for item in cb.construct(construct).items:
                responses.loc[responses["arm"] == 1, item] = pd.NA
    kept = rng.random(n) < 0.9
    analysis = analysis_frame(responses, kept, cb)
    if kind == "items as floats":
        analysis = analysis.astype({v.name: float for v in cb.likert_items})
    for rule in ("listwise", "person_mean"):
        for minimum in (2, 3):
            got = build_analysis_sample(
                analysis, cb, rule, controls=CONTROLS, min_items_answered=minimum
            )
            want = reference.build_analysis_sample(
                analysis, cb, rule, controls=CONTROLS, min_items_answered=minimum
            )
            pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
            assert got.report == want.report
            assert got.report["n_dropped"] > 0
            assert (got.report["cells_imputed"] > 0) == (rule == "person_mean")
            if kind == "as released":
                of_columns = sample_of_columns(
                    analysis_columns(responses, kept, cb),
                    int(kept.sum()),
                    cb,
                    rule,
                    controls=CONTROLS,
                    min_items_answered=minimum,
                )
                pd.testing.assert_frame_equal(of_columns.frame, got.frame, check_exact=True)
                assert of_columns.report == got.report
    if kind == "items not shown":
        assert set(got.report["not_shown_by_variable"]) == {
            i for c in ARM_BLOCKS for i in cb.construct(c).items
        }
