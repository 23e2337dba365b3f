"""Write the malformed questionnaire exports and codebooks of the bad-input corpus.

    python tests/bad_inputs/make_export_and_codebook_cases.py

Every file is derived from the committed synthetic export (data/raw/haze_governance_survey.csv)
and the codebook (config/codebook.yaml), so each case differs from valid input by the one defect
it plants. The exports are cut to the header and the first eight respondents; the uncorrupted
cut (export/valid_short.csv, export/valid_short.xlsx) passes `hazegov check export`, so every
case fails for its planted defect and not for being short. Codebook cases edit the codebook's
text in place (comments and line numbers stay those of config/codebook.yaml, so a line named in
an error is easy to find in the original).

The script is deterministic: the same inputs give the same bytes (XLSX files get fixed
document times and zip entry dates). The expected error of each file is in the cases.yaml next
to it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "data" / "raw" / "haze_governance_survey.csv"
CODEBOOK = ROOT / "config" / "codebook.yaml"
HERE = Path(__file__).resolve().parent
N_ROWS = 8  # respondents kept: rows 2-9 of the sheet

LEAD = ["7(北京市雾霾治理有明确的牵头主体)", "7(市、区各级政府对雾霾防治实行一体化统筹管理)"]
LEAD += ["7(政府在雾霾治理中的主导作用得到有效发挥)", "7(雾霾防治的综合管理存在缺位和错位现象)"]
GRID3 = "12(应将市场、社会组织和公民纳入网格化治理)"
UNIT = "1、您的工作单位："
SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"

Table = tuple[list[str], list[list[str]]]


# --- exports -------------------------------------------------------------------------------


def short_export() -> Table:
    text = EXPORT.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], [list(r) for r in rows[1 : N_ROWS + 1]]


def csv_text(header: list[str] | None, rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def utf8_bom(text: str) -> bytes:
    return text.encode("utf-8-sig")


def set_cell(table: Table, row: int, column: str, value: str) -> Table:
    """Copy of the table with one cell changed; `row` is the sheet row (the header is row 1)."""
    header, rows = table
    rows = [list(r) for r in rows]
    rows[row - 2][header.index(column)] = value
    return header, rows


def stable_xlsx(fill: Callable[[object], None]) -> bytes:
    """An XLSX whose bytes do not depend on the day: fixed times, sorted entries, 1980 dates."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    fill(ws)
    fixed = datetime(2016, 6, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "hazegov bad-input corpus"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2016-06-01T00:00:00Z", data
                )
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    return out.getvalue()


def xlsx_of(rows: list[list[str]], merge: str | None = None) -> bytes:
    def fill(ws) -> None:
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)

    return stable_xlsx(fill)


def export_files() -> dict[str, bytes]:
    table = short_export()
    header, rows = table
    valid = csv_text(header, rows)
    files: dict[str, bytes] = {"valid_short.csv": utf8_bom(valid)}
    files["valid_short.xlsx"] = xlsx_of([header, *rows])

    files["empty.csv"] = b""
    files["header_only.csv"] = utf8_bom(csv_text(header, []))
    # Cut off after the 12th cell of the last row, as an interrupted download leaves it.
    lines = valid.split("\r\n")
    files["truncated_mid_row.csv"] = utf8_bom(
        "\r\n".join([*lines[:N_ROWS], ",".join(lines[N_ROWS].split(",")[:12])])
    )
    # A suggestion with a comma is written in quotes; the file ends inside those quotes.
    quoted = set_cell(table, 6, SUGGESTIONS, "社区可以设立环境网格员,发现问题及时上报。")
    text = csv_text(*quoted)
    files["truncated_mid_quoted_field.csv"] = utf8_bom(text[: text.index('"社区可以设立') + 8])
    files["semicolon_delimited.csv"] = utf8_bom(csv_text(header, rows, delimiter=";"))
    files["tab_delimited.csv"] = utf8_bom(csv_text(header, rows, delimiter="\t"))
    files["unicode_text_utf16.txt"] = csv_text(header, rows, delimiter="\t").encode("utf-16")
    files["gb18030_declared_utf8.csv"] = valid.encode("gb18030")
    files["utf8_bom_declared_gb18030.csv"] = utf8_bom(valid)
    files["utf8_declared_gb18030.csv"] = valid.encode("utf-8")
    files["header_missing.csv"] = utf8_bom(csv_text(None, rows))
    files["header_repeated.csv"] = utf8_bom(csv_text(header, [header, *rows]))
    doubled = [LEAD[0] if h == LEAD[1] else h for h in header]
    files["duplicate_column_header.csv"] = utf8_bom(csv_text(doubled, rows))

    # An XLSX with a group row above the question row, as some platforms and hand-made
    # title rows have it: row 1 names the section, row 2 holds the questions.
    groups = [
        "答卷信息" if i < 6 else "第" + re.split(r"[、(]", h)[0] + "题"
        for i, h in enumerate(header)
    ]
    files["two_header_rows.xlsx"] = xlsx_of([groups, header, *rows])
    # Rows sorted by organisation and the equal cells merged: rows 5 and 6 read as blank.
    unit = header.index(UNIT)
    same = [list(r) for r in rows]
    for r in same[2:5]:
        r[unit] = same[2][unit]
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(unit + 1)
    files["merged_cells.xlsx"] = xlsx_of([header, *same], merge=f"{letter}4:{letter}6")
    files["csv_renamed_to_xlsx.xlsx"] = utf8_bom(valid)

    files["unknown_label.csv"] = utf8_bom(csv_text(*set_cell(table, 5, LEAD[0], "很同意")))
    files["out_of_range_code.csv"] = utf8_bom(csv_text(*set_cell(table, 7, LEAD[1], "7")))
    files["duration_text.csv"] = utf8_bom(csv_text(*set_cell(table, 3, "所用时间", "abc秒")))
    files["likert_code_as_word.csv"] = utf8_bom(
        csv_text(*set_cell(table, 4, "11(现行雾霾治理措施执行到位)", "three"))
    )
    files["submission_number_text.csv"] = utf8_bom(csv_text(*set_cell(table, 6, "序号", "No.5")))
    files["bad_timestamp.csv"] = utf8_bom(
        csv_text(*set_cell(table, 8, "提交答卷时间", "2016/13/45 25:00:00"))
    )
    files["duplicate_submission_number.csv"] = utf8_bom(
        csv_text(*set_cell(table, 8, "序号", rows[2][0]))
    )
    blank = table
    for row in range(2, N_ROWS + 2):
        for column in LEAD:
            blank = set_cell(blank, row, column, "(空)")
    files["scale_all_empty.csv"] = utf8_bom(csv_text(*blank))
    files["extra_column.csv"] = utf8_bom(
        csv_text([*header, "15、您的姓名："], [[*r, "张三"] for r in rows])
    )
    keep = [i for i, h in enumerate(header) if h != GRID3]
    files["missing_item_column.csv"] = utf8_bom(
        csv_text([header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    )
    # A comma typed into an answer that the export did not quote: row 6 gains a cell.
    unquoted = valid.replace("社区可以设立环境网格员，", "社区可以设立环境网格员,", 1)
    assert unquoted != valid
    files["unquoted_comma.csv"] = utf8_bom(unquoted)
    # A quote typed after a quoted cell: "非常"同意 is not CSV.
    assert ",非常同意," in lines[4]
    files["stray_quote.csv"] = utf8_bom(
        "\r\n".join(
            line.replace(",非常同意,", ',"非常"同意,', 1) if i == 4 else line
            for i, line in enumerate(lines)
        )
    )
    files["legacy_excel.xls"] = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    return files


# --- codebooks -----------------------------------------------------------------------------


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace `old` (which must occur exactly `count` times) with `new`."""
    found = text.count(old)
    if found != count:
        raise SystemExit(f"codebook edit: {old!r} occurs {found} times, expected {count}")
    return text.replace(old, new)


def codebook_files() -> dict[str, bytes]:
    cb = CODEBOOK.read_text(encoding="utf-8")
    texts: dict[str, str] = {}
    texts["reverse_outside_scale.yaml"] = edit(
        cb, '    header: "2、您的性别："\n', '    reverse: true\n    header: "2、您的性别："\n'
    )
    texts["duplicate_item_name.yaml"] = edit(cb, "      - name: RESP2\n", "      - name: RESP1\n")
    texts["item_without_header.yaml"] = edit(
        cb, "        header: 9(雾霾治理考核结果与问责挂钩)\n", ""
    )
    texts["likert_scale_undefined.yaml"] = edit(
        cb, "    construct: EFF\n    scale: agree5\n", "    construct: EFF\n    scale: agree7\n"
    )
    texts["duplicate_option_codes.yaml"] = edit(
        cb,
        "      - {code: 4, zh: 硕士研究生, en: Master's degree}\n",
        "      - {code: 3, zh: 硕士研究生, en: Master's degree}\n",
    )
    texts["yaml_syntax.yaml"] = edit(
        cb,
        "      - {code: 2, zh: 女, en: Female}\n",
        "      - {code: 2, zh: 女, en: Female\n",
    )
    texts["empty.yaml"] = ""
    texts["comments_only.yaml"] = "".join(
        line for line in cb.splitlines(keepends=True) if line.startswith("#")
    )
    # Only the questions list, as when the block is copied out of the codebook on its own.
    texts["list_at_top.yaml"] = cb.split("\nquestions:\n", 1)[1]
    texts["extra_item_not_in_export.yaml"] = edit(
        cb,
        "      - name: LEAD4\n",
        "      - name: LEAD5\n"
        "        header: 7(雾霾治理的牵头部门有足够的权威)\n"
        "        text: {zh: 雾霾治理的牵头部门有足够的权威,\n"
        "               en: The leading department of haze governance has enough authority}\n"
        "      - name: LEAD4\n",
    )
    texts["item_missing_from_codebook.yaml"] = edit(
        cb,
        "      - name: EFF3\n"
        "        header: 11(重污染天气应急措施能够有效减轻污染影响)\n"
        "        text: {zh: 重污染天气应急措施能够有效减轻污染影响,\n"
        "               en: Emergency measures on heavy-pollution days effectively reduce "
        "the impact of pollution}\n",
        "",
    )
    texts["attention_check_impossible.yaml"] = edit(
        cb, "        expected_code: 4\n", "        expected_code: 9\n"
    )
    texts["too_few_items.yaml"] = edit(
        cb,
        "      - name: GRID2\n"
        "        header: 12(应将雾霾治理责任落实到网格化区域和责任人)\n"
        "        text: {zh: 应将雾霾治理责任落实到网格化区域和责任人,\n"
        "               en: Haze-control responsibility should be assigned to grid areas and "
        "named persons in charge}\n"
        "      - name: GRID3\n"
        "        header: 12(应将市场、社会组织和公民纳入网格化治理)\n"
        "        text: {zh: 应将市场、社会组织和公民纳入网格化治理,\n"
        "               en: The market, social organisations and citizens should be brought "
        "into grid governance}\n"
        "      - name: GRID4\n"
        "        reverse: true\n"
        "        header: 12(现有部门分工已经足够，无需建立网格化治理)\n"
        "        text: {zh: 现有部门分工已经足够，无需建立网格化治理,\n"
        "               en: The present division of labour between departments suffices; "
        "grid governance is unnecessary}\n",
        "",
    )
    texts["duplicate_key.yaml"] = edit(
        cb,
        "        header: 8(部门之间在雾霾治理中能够有效协调)\n",
        "        header: 8(部门之间在雾霾治理中能够有效协调)\n"
        "        header: 8(各部门在雾霾治理中的权利与义务对等)\n",
    )
    texts["reverse_as_text.yaml"] = edit(
        cb,
        "      - name: PART4\n        reverse: true\n",
        '      - name: PART4\n        reverse: "yes"\n',
    )
    texts["unknown_construct.yaml"] = edit(
        cb, "    construct: PART\n", "    construct: PARTICIPATION\n"
    )
    texts["option_code_not_integer.yaml"] = edit(
        cb,
        "      - {code: 2, zh: 25~34岁, en: 25 to 34}\n",
        '      - {code: "2", zh: 25~34岁, en: 25 to 34}\n',
    )
    texts["unknown_question_type.yaml"] = edit(
        cb,
        "    name: satisfaction\n    type: rating\n",
        "    name: satisfaction\n    type: slider\n",
    )
    texts["group_sector_unknown.yaml"] = edit(
        cb, "sector: primary_care_provider,\n", "sector: primary_care,\n"
    )
    return {name: text.encode("utf-8") for name, text in texts.items()}


def write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        target = folder / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def main() -> None:
    write(HERE / "export", export_files())
    write(HERE / "codebook", codebook_files())


if __name__ == "__main__":
    main()
