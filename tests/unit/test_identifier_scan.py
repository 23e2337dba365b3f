"""The output scan finds a direct identifier wherever a file type can hide one."""

from __future__ import annotations

import hashlib
import json
import re

import docx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from hazegov.errors import InputError
from hazegov.privacy.identifier_scan import (
    FreeTextIndex,
    ScanMemo,
    export_name_literals,
    raw_export_identifiers,
    raw_free_text_cells,
    run_identifier_scan,
    scan_file,
    scan_outputs,
    scan_tree,
)
from hazegov.privacy.identifiers import id_card_check_digit, redact
from hazegov.survey.synthetic import load_population_model, synthesize_export
from tests.support.paths import CODEBOOK, DEFAULT_EXPORT, POPULATION
from tests.support.privacy import PLANTED, PLANTED_IDS

PHONE = "13812345678"
BODY = "11010519800101123"
ID_CARD = BODY + id_card_check_digit(BODY)


def _write(kind: str, path, text: str) -> None:
    if kind == "csv":
        pd.DataFrame({"comment": [text]}).to_csv(path, index=False)
    elif kind == "md":
        path.write_text(f"| a |\n|---|\n| {text} |\n", encoding="utf-8")
    elif kind == "parquet-cell":
        pd.DataFrame({"comment": [text]}).to_parquet(path)
    elif kind == "parquet-metadata":
        table = pa.table({"x": [1]}).replace_schema_metadata({"note": text})
        pq.write_table(table, path)
    elif kind == "sav-label":
        frame = pd.DataFrame({"x": [1.0]})
        pyreadstat.write_sav(frame, str(path), column_labels=[text])
    elif kind == "docx":
        document = docx.Document()
        document.add_paragraph(text)
        document.save(path)
    elif kind == "png-metadata":
        info = PngInfo()
        info.add_text("Comment", text)
        Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    elif kind == "pdf":
        import typst

        source = path.with_suffix(".typ")
        source.write_text(f"#set page(width: 10cm, height: 4cm)\n{text}\n", encoding="utf-8")
        typst.compile(str(source), output=str(path))
        source.unlink()


SUFFIX = {
    "csv": ".csv",
    "md": ".md",
    "parquet-cell": ".parquet",
    "parquet-metadata": ".parquet",
    "sav-label": ".sav",
    "docx": ".docx",
    "png-metadata": ".png",
    "pdf": ".pdf",
}


@pytest.mark.parametrize("kind", sorted(SUFFIX))
def test_a_phone_number_is_found_in_every_file_type(kind, tmp_path):
    path = tmp_path / f"out{SUFFIX[kind]}"
    _write(kind, path, f"call me on {PHONE} please")
    findings = scan_file(path)
    assert [f.kind for f in findings] == ["mobile_phone"]
    assert PHONE not in str(findings[0])  # the report never repeats the identifier


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"身份证号{ID_CARD}", "id_card"),
        ("mail li.lei@example.cn now", "email"),
        ("from 61.135.17.200 at noon", "ip_address"),
        ("微信：bj_haze12345", "wechat_id"),
        ("wxid_abc12345", "wechat_wxid"),
        ("办公电话010-84567890", "landline_phone"),
        ("我叫王伟伟，在丰台区工作", "personal_name"),
    ],
)
def test_each_kind_of_identifier_is_found(text, kind, tmp_path):
    path = tmp_path / "table.csv"
    _write("csv", path, text)
    assert kind in {f.kind for f in scan_file(path)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"身份证号{ID_CARD}", "id_card"),
        ("mail li.lei\\@example.cn now", "email"),  # in Typst markup, \@ is a plain @
        ("from 61.135.17.200 at noon", "ip_address"),
        ("微信：bj_haze12345", "wechat_id"),
        ("办公电话010-84567890", "landline_phone"),
        ("我叫王伟伟，在丰台区工作", "personal_name"),
        # a line broken inside a hyphenated word before the number: the PDF's text keeps both
        (
            f"a long line of text ending in a well-known multi-sectoral word then {PHONE}",
            "mobile_phone",
        ),
    ],
)
def test_each_kind_of_identifier_is_found_in_a_pdf(text, kind, tmp_path):
    """The PDF reader (PDFium) gives the scan the text a reader sees, CJK included."""
    path = tmp_path / "paper.pdf"
    _write("pdf", path, text)
    assert kind in {f.kind for f in scan_file(path)}


def test_digests_and_images_are_not_mistaken_for_phone_numbers(tmp_path):
    path = tmp_path / "provenance.json"
    digest = "ab" + PHONE + "cd" * 25
    blob = "iVBORw0KGgo" + "A1b2" * 40 + PHONE + "Zz" * 20
    path.write_text(json.dumps({"sha256": digest, "image": blob, "n": 230}), encoding="utf-8")
    assert scan_file(path) == []


def test_long_decimal_fractions_are_not_phone_numbers(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text("bias,se\n-0.0006769939554,0.02185241405\n", encoding="utf-8")
    assert scan_file(path) == []
    path.write_text("bias,phone\n-0.0006769939554,010-84567890\n", encoding="utf-8")
    assert [f.kind for f in scan_file(path)] == ["landline_phone"]


def test_identifiers_of_the_raw_export_are_caught_verbatim(tmp_path):
    literals = raw_export_identifiers(DEFAULT_EXPORT)
    ip = next(s for s in literals if s.count(".") == 3)
    path = tmp_path / "notes.txt"
    # the IP address of a respondent, copied from the raw export into an output
    path.write_text(f"seen at {ip}", encoding="utf-8")
    assert {f.kind for f in scan_file(path, literals)} >= {"raw-export identifier"}


def test_the_scan_stops_the_build_and_writes_no_report(tmp_path):
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "clean.csv").write_text("n\n230\n", encoding="utf-8")
    (results / "tables" / "leak.md").write_text(f"contact {PHONE}\n", encoding="utf-8")
    report = results / "privacy" / "identifier_scan.json"
    with pytest.raises(InputError) as caught:
        run_identifier_scan([results], DEFAULT_EXPORT, report)
    assert "leak.md" in str(caught.value) and "no-direct-identifier" in str(caught.value)
    assert not report.exists()
    (results / "tables" / "leak.md").unlink()
    run_identifier_scan([results], DEFAULT_EXPORT, report)
    assert json.loads(report.read_text(encoding="utf-8"))["files_scanned"] == 1
    findings, n = scan_tree([results], skip=[report])
    assert findings == [] and n == 1


# --------------------------------------------------------------------------------------------
# The gate on its own: raw free text, digit runs, absolute paths, logs, quarantine
# --------------------------------------------------------------------------------------------

SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"
ROLE = "6、您的岗位角色："
CHANNEL = "来源"


def _plant(table: pd.DataFrame, column: str, texts: list[str]) -> pd.DataFrame:
    table = table.copy()
    for row, text in enumerate(texts):
        table.loc[table.index[row], column] = text
    return table


def _unredacted_output(tmp_path, text: str, name: str = "notes.md"):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    (results / name).write_text(f"# Notes\n\nA respondent wrote: {text}\n", encoding="utf-8")
    return results


@pytest.fixture
def no_patterns(monkeypatch):
    """The gate with every check that uses the redactor's patterns switched off."""
    import hazegov.privacy.identifier_scan as scan

    monkeypatch.setattr(scan, "find_in_normalised", lambda text, locales=(), **_: [])
    monkeypatch.setattr(scan, "raw_export_identifiers", lambda *a, **k: set())
    monkeypatch.setattr(scan, "export_name_literals", lambda *a, **k: set())


@pytest.mark.parametrize(("case", "text", "kind", "secret", "_"), PLANTED, ids=PLANTED_IDS)
def test_every_planted_kind_is_caught_without_the_redactor(
    case, text, kind, secret, _, export_table, write_table, tmp_path, no_patterns
):
    # The free text reaches an output untouched by the redactor; the gate, with no pattern
    # of the redactor, still finds it because it was read from the raw export.
    export = write_table(_plant(export_table, SUGGESTIONS, [text]))
    results = _unredacted_output(tmp_path, text)
    result = scan_outputs([results], export, codebook=CODEBOOK)
    assert [f.kind for f in result.findings] == ["raw free text"], case
    shown = str(result.findings[0])
    assert secret not in shown and "row 2" in shown and SUGGESTIONS in shown


@pytest.mark.parametrize(
    ("case", "text", "kind", "secret", "_"),
    [case for case in PLANTED if case[4]],
    ids=[case[0] for case in PLANTED if case[4]],
)
def test_the_patterns_find_every_planted_kind_in_an_output(case, text, kind, secret, _, tmp_path):
    # no raw export needed: the normalised pattern search finds it on its own
    path = tmp_path / "table.csv"
    _write("csv", path, text)
    findings = scan_file(path)
    assert kind in {f.kind for f in findings}, case
    assert all(secret not in str(f) for f in findings)


def test_a_fill_in_and_the_channel_are_raw_free_text(
    export_table, write_table, tmp_path, no_patterns
):
    table = _plant(export_table, ROLE, ["其他〖联系人仉怀瑾13812345678〗"])
    table = _plant(table, CHANNEL, ["", "王小明转发的朋友圈链接"])
    export = write_table(table)
    cells = raw_free_text_cells(export, CODEBOOK)
    assert {(c.row, c.column, c.text) for c in cells} >= {
        (2, ROLE, "联系人仉怀瑾13812345678"),
        (3, CHANNEL, "王小明转发的朋友圈链接"),
    }
    results = _unredacted_output(tmp_path, "仉怀瑾13812345678；王小明转发的朋友圈")
    found = scan_outputs([results], export, codebook=CODEBOOK).findings
    assert [f.kind for f in found] == ["raw free text", "raw free text"]
    assert "column '6、您的岗位角色：'" in str(found[0]) and "column '来源'" in str(found[1])


def test_a_name_the_redactor_misses_is_caught_where_it_was_copied(
    export_table, write_table, tmp_path
):
    # A rare surname, no cue, unknown to jieba: the redactor leaves it (the second line of
    # defence fails), and a verbatim copy in an output still stops the build.
    text = "仉怀瑾同志提出的建议很好"
    assert redact(text) == (text, {})
    export = write_table(_plant(export_table, SUGGESTIONS, [text]))
    results = _unredacted_output(tmp_path, "仉怀瑾同志提出", name="quotes.md")
    report = tmp_path / "report.json"
    with pytest.raises(InputError) as caught:
        run_identifier_scan([results], export, report, codebook=CODEBOOK)
    message = str(caught.value)
    assert "quotes.md" in message and "raw free text" in message and "row 2" in message
    assert "仉怀瑾" not in message  # masked
    assert not report.exists()


def test_the_quarantine_file_may_hold_free_text_but_no_identifier(
    export_table, write_table, tmp_path
):
    text = "仉怀瑾同志提出的建议很好"
    export = write_table(_plant(export_table, SUGGESTIONS, [text]))
    results = tmp_path / "results"
    (results / "interim").mkdir(parents=True)
    quarantine = results / "interim" / "free_text.parquet"
    pd.DataFrame({"suggestions": [text]}).to_parquet(quarantine)
    result = scan_outputs([results], export, codebook=CODEBOOK, quarantine=quarantine)
    assert result.findings == [] and result.files_scanned == 1
    # without the quarantine named, the same file is a leak
    assert scan_outputs([results], export, codebook=CODEBOOK).findings
    # an identifier the redactor missed in the quarantine file is still found
    pd.DataFrame({"suggestions": [text + "，电话13812345678"]}).to_parquet(quarantine)
    result = scan_outputs([results], export, codebook=CODEBOOK, quarantine=quarantine)
    assert [f.kind for f in result.findings] == ["mobile_phone"]


def test_logs_are_scanned_too(export_table, write_table, tmp_path):
    text = "仉怀瑾同志提出的建议很好"
    export = write_table(_plant(export_table, SUGGESTIONS, [text]))
    results = tmp_path / "results"
    results.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "ingest_export.log").write_text(
        f"row 2, column 'suggestions': bad cell {text!r}\n", encoding="utf-8"
    )
    assert scan_outputs([results], export, codebook=CODEBOOK).findings == []
    result = scan_outputs([results], export, codebook=CODEBOOK, logs=logs)
    assert result.log_files_scanned == 1
    assert [(f.file, f.kind) for f in result.findings] == [
        ("logs/ingest_export.log", "raw free text")
    ]


def test_common_answers_and_questionnaire_wording_are_not_free_text_leaks(
    export_table, write_table, tmp_path
):
    # an answer many respondents gave may be named by an aggregate; a label of the
    # questionnaire copied into an answer is public text
    common = "加强京津冀区域联防联控"
    texts = [common] * 5 + ["我认为政府主导作用得到有效发挥"]
    export = write_table(_plant(export_table, SUGGESTIONS, texts))
    results = _unredacted_output(
        tmp_path, f"{common}: 5 respondents. 政府在雾霾治理中的主导作用得到有效发挥"
    )
    assert scan_outputs([results], export, codebook=CODEBOOK).findings == []
    # four are not enough
    export = write_table(_plant(export_table, SUGGESTIONS, [common] * 4))
    assert scan_outputs([results], export, codebook=CODEBOOK).findings


def test_english_free_text_is_matched_by_words_not_letters(export_table, write_table, tmp_path):
    export = write_table(_plant(export_table, SUGGESTIONS, ["Reduce coal burning, Mr Zhongli"]))
    public = tmp_path / "public.txt"
    public.write_text("coal burning and air pollution", encoding="utf-8")
    results = _unredacted_output(tmp_path, "Coal burning fell; Zhonglin wrote.")
    assert scan_outputs([results], export, codebook=CODEBOOK, public=[public]).findings == []
    _unredacted_output(tmp_path, "thanks to Mr Zhongli")
    found = scan_outputs([results], export, codebook=CODEBOOK, public=[public]).findings
    assert [f.kind for f in found] == ["raw free text"]


def test_free_text_is_read_from_every_sheet_of_a_workbook(export_table, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "说明"
    first.append(["本表为问卷星导出"])
    first.sheet_state = "hidden"
    for sheet in (book.create_sheet("第1页"), book.create_sheet("第2页")):
        sheet.append(list(export_table.columns))
    pages = [book["第1页"], book["第2页"]]
    for k, row in enumerate(export_table.itertuples(index=False)):
        values = list(row)
        values[list(export_table.columns).index(SUGGESTIONS)] = f"第{k}位仉怀瑾同志的建议"
        pages[k % 2].append(values)
    export = tmp_path / "export.xlsx"
    book.save(export)
    cells = raw_free_text_cells(export, CODEBOOK)
    assert {c.sheet for c in cells if "仉怀瑾" in c.text} == {"第1页", "第2页"}
    assert sum("仉怀瑾" in c.text for c in cells) == len(export_table)


def test_a_name_in_the_export_file_name_may_appear_nowhere(export_table, write_table, tmp_path):
    export = write_table(export_table, name="王小明_问卷导出.csv")
    assert "王小明" in export_name_literals(export)
    assert export_name_literals(write_table(export_table, name="survey_2016.csv")) == set()
    results = _unredacted_output(tmp_path, "data/raw/王小明_问卷导出.csv")
    found = scan_outputs([results], export, codebook=CODEBOOK).findings
    assert {f.kind for f in found} == {"raw-export identifier"}
    assert all("王小明" not in str(f) for f in found)


@pytest.mark.parametrize(
    "cell",
    [
        "编号2016030712",
        "ref 1234567",
        "内部号 七六五四三二一〇",
        "８８８８８８８",
        "编号 65 12 34 56",
        # digits only once read as NFKC: circled, parenthesised, Kangxi radicals
        "编号 ⑦⑥⑤④③②①",
        "⑴⑵⑶⑷⑸⑹⑺⑻",
        "内部号 ⼀⼆⼋⼋⼋⼋⼋",
    ],
)
def test_a_long_digit_run_in_a_text_cell_of_a_data_output_is_found(cell, tmp_path):
    path = tmp_path / "table.csv"
    _write("csv", path, cell)
    assert [f.kind for f in scan_file(path)] == ["digit run"]
    (tmp_path / "values.json").write_text(json.dumps({"note": cell}), encoding="utf-8")
    assert [f.kind for f in scan_file(tmp_path / "values.json")] == ["digit run"]
    # in running text that is no data file, only the patterns apply
    (tmp_path / "text.md").write_text(cell, encoding="utf-8")
    assert scan_file(tmp_path / "text.md") == []


def test_survey_numbers_are_no_digit_runs(tmp_path):
    digest = hashlib.sha256(b"x").hexdigest()
    cells = {
        "n": "230 (12 excluded)",
        "year": "2016",
        "years": "2013-2017",
        "p": "p < 0.001",
        "estimate": "0.0218 (0.0031)",
        "big_estimate": "-1234567.891",
        "ci": "[-0.0006769939554, 0.02185241405]",
        "sha256": digest,
        "date": "2016-03-07",
        "timestamp": "2016-03-07T09:05:01+08:00",
        "submitted": "2016/3/7 9:05:01",
        "doi": "https://doi.org/10.1080/14719030600853022",
        "standard": "GB 3095-2012",
        "version": "jieba 0.42.1",
    }
    pd.DataFrame({k: [v] for k, v in cells.items()}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "t.json").write_text(json.dumps(cells), encoding="utf-8")
    pd.DataFrame({k: [v] for k, v in cells.items()}).to_parquet(tmp_path / "t.parquet")
    pd.DataFrame({"seed": [20160307], "n": [230]}).to_csv(tmp_path / "n.csv", index=False)
    for name in ("t.csv", "t.json", "t.parquet", "n.csv"):
        assert scan_file(tmp_path / name) == [], name


@pytest.mark.parametrize(
    "text",
    [
        "export read from /home/alice/survey/export.csv",
        "cache in /root/.cache/hazegov",
        "built in /work/main/results",
        "see file:///srv/data/x.csv",
        "/data/raw",
        r"exported to C:\Users\alice\Desktop\survey.xlsx",
        "exported to C:/Users/alice/survey.xlsx",
        r"share \\fileserver\survey",
    ],
)
def test_absolute_paths_are_found(text, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    findings = scan_file(path)
    assert [f.kind for f in findings] == ["absolute path"]
    assert "alice" not in str(findings[0]) and "main/results" not in str(findings[0])


def test_relative_paths_and_web_addresses_are_not_absolute_paths(tmp_path):
    path = tmp_path / "notes.html"
    path.write_text(
        "<p>data/raw/haze_governance_survey.csv, results/tables/t.csv, 1/2/3, μg/m3,"
        ' <a href="https://doi.org/10.1080/147.19">doi</a> //cdn.example.org/x/y.js'
        " </td></tr> 非常同意/同意 2016/3/7 km/h</p>",
        encoding="utf-8",
    )
    assert scan_file(path) == []


def test_the_report_names_every_check(export_table, write_table, tmp_path):
    export = write_table(export_table)
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "clean.csv").write_text("n\n230\n", encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "rule.log").write_text("done in 3 s\n", encoding="utf-8")
    report = results / "privacy" / "identifier_scan.json"
    quarantine = results / "interim" / "free_text.parquet"
    run_identifier_scan(
        [results], export, report, codebook=CODEBOOK, quarantine=quarantine, logs=logs
    )
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["files_scanned"] == 1 and written["log_files_scanned"] == 1
    assert written["findings"] == [] and written["quarantine"] == "free_text.parquet"
    assert written["raw_free_text_cells_checked"] > 0
    assert len(written["checks"]) == 5
    assert str(tmp_path) not in report.read_text(encoding="utf-8")  # no absolute path


# --- the real ingest and the real gate on an export with every kind planted -----------------


def _planted_export(codebook) -> pd.DataFrame:
    """Every planted kind in the suggestions, a name and a phone in a fill-in, a name in the
    channel column."""
    model = load_population_model(POPULATION, codebook)
    table = synthesize_export(model, codebook, n=len(PLANTED) + 10)
    table[SUGGESTIONS] = "(空)"
    table = _plant(table, SUGGESTIONS, [text for _, text, *_ in PLANTED])
    answered_role = table.index[table[ROLE] != "(跳过)"]
    table.loc[answered_role[0], ROLE] = "其他〖王小明 13812345678〗"
    table.loc[answered_role[1], ROLE] = "其他〖联系人欧阳娜娜〗"
    table.loc[table.index[2], CHANNEL] = "王小明转发的朋友圈链接"
    return table


def _ingest_into(export, project):
    """Run the ingest rule's package function as the workflow does, with its log."""
    from hazegov.logs import rule_log
    from hazegov.survey.stages import run_free_text_counts, run_ingest

    results, logs = project / "results", project / "logs"
    quarantine = results / "interim" / "restricted" / "free_text.parquet"
    with rule_log(logs / "ingest_export.log"):
        run_ingest(
            export, CODEBOOK, "auto", "missing",
            results / "interim" / "responses.parquet",
            results / "interim" / "data_quality.csv",
            results / "interim" / "ingest_report.json",
            quarantine,
        )  # fmt: skip
    with rule_log(logs / "free_text_counts.log"):
        run_free_text_counts(quarantine, CODEBOOK, 5, results / "tables" / "free_text_answers.csv")
    return results, logs, quarantine


def test_planted_identifiers_reach_no_output_of_the_real_ingest(
    codebook, write_table, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the project: outputs name the export relative to it
    table = _planted_export(codebook)
    export = write_table(table, name="王小明_问卷导出.csv")
    results, logs, quarantine = _ingest_into(export.relative_to(tmp_path), tmp_path)
    # the quarantine holds the (redacted) free text; the responses hold none of it
    free_text = pd.read_parquet(quarantine)
    assert free_text["suggestions"].notna().sum() == len(PLANTED)
    assert quarantine.stat().st_mode & 0o077 == 0  # no access for group or others
    responses = pd.read_parquet(results / "interim" / "responses.parquet")
    assert all(str(responses[c].dtype) == "Int64" for c in ("suggestions", "role_other", "source"))
    report = json.loads((results / "interim" / "ingest_report.json").read_text("utf-8"))
    assert report["export_file"] == "<export>"
    assert report["export_sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    # the gate, reading the raw export itself, finds nothing outside the quarantine
    scan_report = results / "privacy" / "identifier_scan.json"
    run_identifier_scan(
        [results], export, scan_report, codebook=CODEBOOK, quarantine=quarantine, logs=logs
    )
    assert json.loads(scan_report.read_text("utf-8"))["findings"] == []
    # and it would have stopped the build had the ingest copied the free text anywhere else
    pd.read_parquet(quarantine).to_csv(results / "interim" / "copy.csv", index=False)
    with pytest.raises(InputError) as caught:
        run_identifier_scan(
            [results], export, scan_report, codebook=CODEBOOK, quarantine=quarantine, logs=logs
        )
    kinds = {v.message.split(":")[0] for v in caught.value.violations}
    assert "raw free text" in kinds
    assert "copy.csv" in str(caught.value) and "王小明" not in str(caught.value)


def test_a_bad_fill_in_cell_is_quoted_masked_in_the_message_and_the_log(
    export_table, write_table, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    table = export_table.copy()
    answered_role = table.index[table[ROLE] != "(跳过)"]
    # 其它 is not the option's label (其他): the cell breaks the codebook
    table.loc[answered_role[0], ROLE] = "其它〖王小明 13812345678〗"
    export = write_table(table).relative_to(tmp_path)
    with pytest.raises(InputError) as caught:
        _ingest_into(export, tmp_path)
    message = str(caught.value)
    log_text = (tmp_path / "logs" / "ingest_export.log").read_text("utf-8")
    for text in (message, log_text):
        assert "label-in-codebook" in text and f"column {ROLE!r}" in text and "row " in text
        assert "王小明" not in text and "13812345678" not in text and "5678" not in text
    assert "value '其它〖*…(19 characters)'" in message
    # the gate finds no identifier and no free text in the log (the traceback names the
    # package's files outside this temporary project, so paths are not checked here)
    index = FreeTextIndex(raw_free_text_cells(export, CODEBOOK))
    found = scan_tree([tmp_path / "logs"], free_text=index, data_cells=False, paths=False)[0]
    assert found == [], [str(f) for f in found]


# --- the memo: an unchanged file is not read again --------------------------------------------


def _scan_with(memo, export, results):
    return scan_outputs([results], export, codebook=CODEBOOK, memo=memo)


def test_the_memo_gives_the_same_findings_and_skips_unchanged_files(
    export_table, write_table, tmp_path, monkeypatch
):
    text = "仉怀瑾同志提出的建议很好"
    export = write_table(_plant(export_table, SUGGESTIONS, [text]))
    results = _unredacted_output(tmp_path, "仉怀瑾同志提出", name="quotes.md")
    pd.DataFrame({"comment": [f"电话{PHONE}"]}).to_csv(results / "table.csv", index=False)
    (results / "clean.md").write_text("Nothing to see.\n", encoding="utf-8")
    without = _scan_with(None, export, results).findings
    memo = ScanMemo(tmp_path / "memo")
    cold = _scan_with(memo, export, results).findings
    assert (memo.hits, memo.misses) == (0, 3)
    memo.save()
    memo = ScanMemo(tmp_path / "memo")
    warm = _scan_with(memo, export, results).findings
    assert (memo.hits, memo.misses) == (3, 0)
    assert without == cold == warm and {f.kind for f in warm} >= {"raw free text", "mobile_phone"}
    stored = (tmp_path / "memo" / "memo.json").read_text("utf-8")
    assert "仉怀瑾" not in stored and PHONE not in stored  # masked, never the literal
    # a warm scan reads no file it has seen
    import hazegov.privacy.identifier_scan as scan

    monkeypatch.setattr(scan, "scan_file", lambda path, *a, **k: pytest.fail(f"read {path}"))
    assert _scan_with(memo, export, results).findings == without


def test_a_changed_file_or_raw_export_is_scanned_again(export_table, write_table, tmp_path):
    export = write_table(export_table)
    results = _unredacted_output(tmp_path, "仉怀瑾同志提出", name="quotes.md")
    memo = ScanMemo(tmp_path / "memo")
    assert _scan_with(memo, export, results).findings == []
    # the output changes: read again, and its new content found
    (results / "quotes.md").write_text(f"电话{PHONE}\n", encoding="utf-8")
    assert [f.kind for f in _scan_with(memo, export, results).findings] == ["mobile_phone"]
    assert memo.misses == 2
    # the raw export changes (its free text now holds what the output quotes): read again
    (results / "quotes.md").write_text("仉怀瑾同志提出\n", encoding="utf-8")
    assert _scan_with(memo, export, results).findings == []
    export = write_table(_plant(export_table, SUGGESTIONS, ["仉怀瑾同志提出的建议很好"]))
    assert [f.kind for f in _scan_with(memo, export, results).findings] == ["raw free text"]
    assert memo.misses == 4


def test_the_memo_directory_is_not_scanned(export_table, write_table, tmp_path):
    export = write_table(export_table)
    results = _unredacted_output(tmp_path, "nothing here")
    memo = results / "cache" / "identifier_scan"
    memo.mkdir(parents=True)
    (memo / "memo.json").write_text(f'{{"k": [{{"hint": "{PHONE}"}}]}}', encoding="utf-8")
    result = scan_outputs([results], export, codebook=CODEBOOK, memo=memo)
    assert result.findings == [] and result.files_scanned == 1


def test_the_memo_keeps_only_the_entries_of_the_last_scan(export_table, write_table, tmp_path):
    export = write_table(export_table)
    results = _unredacted_output(tmp_path, "first version")
    memo = ScanMemo(tmp_path / "memo")
    _scan_with(memo, export, results)
    assert memo.save() == 0
    (results / "notes.md").write_text("second version\n", encoding="utf-8")
    memo = ScanMemo(tmp_path / "memo")
    _scan_with(memo, export, results)
    assert memo.save() == 1
    assert len(json.loads((tmp_path / "memo" / "memo.json").read_text("utf-8"))) == 1


# --- worker processes: the same findings and report whatever their number ---------------------


@pytest.fixture
def small_pools(monkeypatch):
    """Worker processes for the few kilobytes of a test build too."""
    import hazegov.privacy.identifier_scan as scan

    monkeypatch.setattr(scan, "POOL_MIN_BYTES", 0)


def _leaky_build(tmp_path, export_table, write_table):
    """A build whose files hold one of each finding, spread over file types and the logs."""
    export = write_table(_plant(export_table, SUGGESTIONS, ["仉怀瑾同志提出的建议很好"]))
    results = _unredacted_output(tmp_path, "仉怀瑾同志提出", name="quotes.md")
    pd.DataFrame({"comment": [f"电话{PHONE}", "1234567 8901"]}).to_csv(
        results / "table.csv", index=False
    )
    pd.DataFrame({"note": ["ok", f"身份证号{ID_CARD}"]}).to_parquet(results / "data.parquet")
    (results / "copy.csv").write_bytes((results / "table.csv").read_bytes())
    (results / "clean.md").write_text("Nothing to see.\n", encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "job.log").write_text("wrote /home/analyst/study/out.csv\n", encoding="utf-8")
    return export, results, logs


def _scan_with_logs(export, results, logs, workers, memo):
    return scan_outputs([results], export, codebook=CODEBOOK, logs=logs, workers=workers, memo=memo)


def test_the_findings_are_the_same_with_one_or_two_workers(
    export_table, write_table, tmp_path, small_pools
):
    export, results, logs = _leaky_build(tmp_path, export_table, write_table)
    findings = []
    for workers in (1, 2):
        findings.append(_scan_with_logs(export, results, logs, workers, None).findings)
        for run in ("cold", "warm"):
            memo = ScanMemo(tmp_path / f"memo{workers}")
            findings.append(_scan_with_logs(export, results, logs, workers, memo).findings)
            assert (memo.hits, memo.misses) == ((1, 4) if run == "cold" else (5, 0))
            memo.save()
    assert all(f == findings[0] for f in findings)
    kinds_found = {f.kind for f in findings[0]}
    assert kinds_found >= {"raw free text", "mobile_phone", "id_card", "digit run"}
    assert "absolute path" in kinds_found
    # copy.csv is found like table.csv, from the memo once its content was scanned
    assert [f.kind for f in findings[0] if f.file.endswith("copy.csv")] == [
        f.kind for f in findings[0] if f.file.endswith("table.csv")
    ]


def test_files_scanned_by_a_worker_process_are_reported(
    export_table, write_table, tmp_path, small_pools
):
    from hazegov.privacy.identifier_scan import _Scanner

    _, results, _ = _leaky_build(tmp_path, export_table, write_table)
    tasks = [(p, p.name, True, True) for p in sorted(results.iterdir())]
    with _Scanner(set(), None, ("CN", "international"), workers=2) as scanner:
        found = scanner.scan(tasks)
        assert scanner._pool is not None  # scanned in worker processes
    assert found == [scan_file(p, label=p.name) for p, *_ in tasks]
    assert {f.kind for f in found[[t[1] for t in tasks].index("data.parquet")]} == {"id_card"}


def test_the_report_is_the_same_with_one_or_two_workers(
    export_table, write_table, tmp_path, small_pools
):
    export, results, logs = _leaky_build(tmp_path, export_table, write_table)
    messages = []
    for workers in (1, 2):
        with pytest.raises(InputError) as caught:
            run_identifier_scan(
                [results],
                export,
                results / "scan.json",
                logs=logs,
                codebook=CODEBOOK,
                workers=workers,
            )
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "quotes.md" in messages[0]
    for leak in ("quotes.md", "table.csv", "copy.csv", "data.parquet"):
        (results / leak).unlink()
    (logs / "job.log").unlink()
    reports = []
    for workers in (1, 2):
        report = tmp_path / f"report{workers}.json"
        run_identifier_scan(
            [results],
            export,
            report,
            logs=logs,
            codebook=CODEBOOK,
            memo=tmp_path / f"memo{workers}",
            workers=workers,
        )
        reports.append(report.read_bytes())
    assert reports[0] == reports[1] and b'"files_scanned": 1' in reports[0]


def test_the_cells_of_a_table_hold_the_digit_runs_each_holds_on_its_own():
    """Cells searched as one text give each cell's runs, however its edges are written."""
    import random

    from hazegov.privacy.identifier_scan import _cell_digit_runs, _without_blobs
    from hazegov.privacy.identifiers import digit_runs, normalised_text

    rng = random.Random(7)
    pieces = [
        *"0123456789" * 3,
        *" -.·()（）_:/\n\t\r\u3000\u00a0\u2028",
        *"一二三四五六七八九零幺壹〇１２３４５６７８９０①⑨⑴⒏²₇⼀⼋Xx#@T－—・",
        *("http://", "www.", "10.1234/", "2016-03-07", "09:05", "GB 3095-2012", "2013-2017"),
        *("0.5", "+86", "ff" * 20, "1" * 17, "12345678901234567", "138", "1234 5678"),
    ]
    cells = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 25))) for _ in range(6000)]
    cells += ["1381234", "5678", "12345678901234567", "X", "2016-03-07 ", " 09:05", "http://a.cn/1"]
    # every cell searched, none left out by a count of its digits
    one_by_one = [
        run.digits for cell in cells for run in digit_runs(normalised_text(_without_blobs(cell)), 7)
    ]
    assert len(one_by_one) > 1500
    assert [run.digits for run in _cell_digit_runs(cells)] == one_by_one


def test_runs_of_free_text_are_looked_for_at_every_token_they_may_start_at():
    """Runs are found where a first character of one stands at a token's start, which is
    where the token-by-token search looked: the same runs in any text."""
    import random

    from hazegov.privacy.identifier_scan import _TOKEN, _WORD, MIN_LITERAL, RawCell

    answers = [
        "我叫李洋洋，在丰台区工作",
        "call me at 13812345678 please",
        "Übermäßig viel Smog, ça va",
        "-rund um die uhr- 12345678901",
        "(在丰台) 区工作 ab12 cd",
        "air pollution control now",
    ]
    index = FreeTextIndex(
        [RawCell("", row, "c", text) for row, text in enumerate(answers * 2, start=2)]
    )

    def token_by_token(text):
        found = set()
        for token in _TOKEN.finditer(text):
            p = token.start()
            for run in index._by_prefix.get(text[p : p + MIN_LITERAL], ()):
                end = p + len(run)
                if text.startswith(run, p) and not (
                    _WORD.match(run[-1]) and end < len(text) and _WORD.match(text[end])
                ):
                    found.add(run)
        return found

    rng = random.Random(3)
    runs = sorted(index._runs)
    pieces = [*runs, *(r[: rng.randint(1, len(r))] for r in runs), *"ab1 ,.-(\n\u00e9x"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    hits = 0
    for text in texts:
        assert index._occurring(text) == token_by_token(text), text
        hits += bool(token_by_token(text))
    assert hits > 1000


def test_the_strings_of_a_json_value_are_walked_in_document_order():
    import random

    from hazegov.privacy.identifier_scan import _json_strings

    def recursive(value, numbers):
        if isinstance(value, dict):
            for key, item in value.items():
                yield str(key)
                yield from recursive(item, numbers)
        elif isinstance(value, list):
            for item in value:
                yield from recursive(item, numbers)
        elif isinstance(value, str):
            yield value
        elif numbers and value is not None and not isinstance(value, bool):
            yield str(value)

    rng = random.Random(9)

    def value(depth):
        kind = rng.choice("dlsnfbz" if depth < 5 else "snfbz")
        if kind == "d":
            return {f"k{rng.randint(0, 99)}": value(depth + 1) for _ in range(rng.randint(0, 4))}
        if kind == "l":
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {
            "s": "电话138",
            "n": rng.randint(-(10**12), 10**12),
            "f": rng.random(),
            "b": True,
        }.get(kind)

    for _ in range(500):
        document = json.loads(json.dumps(value(0)))
        for numbers in (False, True):
            assert _json_strings(document, numbers) == list(recursive(document, numbers))


def test_absolute_paths_are_tried_only_where_one_may_start():
    import random

    from hazegov.privacy import identifier_scan

    rng = random.Random(4)
    pieces = [
        *(
            "/home/analyst/x.csv",
            "file:///tmp/a",
            "C:\\Users\\me",
            "D:/data/x",
            "\\\\server\\share",
        ),
        *("http://a.cn/b/c", "a/b/c", "~/x/y", "/", ":", "\\", "x", "9", " ", "\n", "路", "@"),
    ]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(4000)]
    plain = re.compile(identifier_scan._ABSOLUTE_PATH_KINDS)
    starts = re.compile(identifier_scan._ABSOLUTE_PATH_FIRST)
    found = 0
    for text in texts:
        spans = [m.span() for m in plain.finditer(text)]
        assert all(starts.match(text, start) for start, _ in spans), text
        assert [m.span() for m in identifier_scan._ABSOLUTE_PATH.finditer(text)] == spans
        found += len(spans)
    assert found > 1000
