"""The output scan finds a direct identifier wherever a file type can hide one."""

from __future__ import annotations

import json

import docx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from hazegov.errors import InputError
from hazegov.identifier_scan import (
    raw_export_identifiers,
    run_identifier_scan,
    scan_file,
    scan_tree,
)
from hazegov.privacy import id_card_check_digit

from .conftest import DEFAULT_EXPORT

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
