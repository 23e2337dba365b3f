"""Write the hostile and odd files of the bad-input corpus (issue 13, points 6 and 7).

    python tests/bad_inputs/make_hostile_cases.py

Exports are derived from the corpus's own uncorrupted cut, export/valid_short.csv (the header
and eight respondents, which passes `hazegov check export`), so each case fails for the one
oddity it plants; codebook cases from config/codebook.yaml. The script is deterministic: the
same inputs give the same bytes. The expected error of each file is in the cases.yaml next to
it; the odd files that must be accepted (a platform footer row, an export without identifier
columns) are tested in tests/unit/test_ingest.py instead.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from make_export_and_codebook_cases import stable_xlsx

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CODEBOOK = ROOT / "config" / "codebook.yaml"
SHORT = HERE / "export" / "valid_short.csv"
DURATION = "所用时间"
SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"


def short_export() -> tuple[list[str], list[list[str]]]:
    """Header and the eight respondents of export/valid_short.csv."""
    rows = list(csv.reader(io.StringIO(SHORT.read_bytes().decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    """The table as the platform writes its CSV download (CRLF, quotes where needed)."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue().encode(encoding)


def workbook(sheets: list[tuple[str, list[list[str]]]], hidden: str | None = None) -> bytes:
    """An XLSX with the sheets given in order; `hidden` names a sheet hidden in Excel."""

    def fill(first) -> None:
        book = first.parent
        for k, (title, rows) in enumerate(sheets):
            ws = first if k == 0 else book.create_sheet(title)
            ws.title = title
            for row in rows:
                ws.append(row)
            if title == hidden:
                ws.sheet_state = "hidden"
        book.active = next(k for k, (title, _) in enumerate(sheets) if title != hidden)

    return stable_xlsx(fill)


def export_files() -> dict[str, bytes]:
    header, rows = short_export()
    files = {
        # the respondents split over two sheets, as when the platform's download was pasted
        # into a workbook in two goes
        "two_sheets.xlsx": workbook(
            [("Sheet1", [header, *rows[:4]]), ("Sheet2", [header, *rows[4:]])]
        ),
        # an earlier download of three responses kept as a hidden first sheet
        "hidden_first_sheet.xlsx": workbook(
            [("旧版", [header, *rows[:3]]), ("Sheet1", [header, *rows])], hidden="旧版"
        ),
    }
    text = SHORT.read_bytes().decode("utf-8-sig")
    # saved by a traditional-Chinese Excel: Big5, its missing simplified characters as "?"
    files["big5_from_traditional_excel.csv"] = text.encode("cp950", errors="replace")
    # UTF-8 read as Windows-1252 (its five unassigned bytes as the C1 controls, as Windows
    # reads them) and saved as UTF-8 again
    misread = "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
        for b in text.encode("utf-8")
    )
    files["utf8_encoded_twice.csv"] = misread.encode("utf-8")
    files["utf16_without_bom.csv"] = text.encode("utf-16-le")
    # the platform's footer row (共N条数据: "N records in all") after a row was deleted
    files["footer_count_wrong.csv"] = csv_bytes(header, [*rows[:-1], ["共8条数据"]])
    # two downloads joined: the first one's footer row is left in the middle
    files["footer_not_last.csv"] = csv_bytes(header, [*rows[:4], ["共4条数据"], *rows[4:]])
    # a suggestion of 33,000 characters, over MAX_CELL_CHARS (32,767)
    long = [list(r) for r in rows]
    long[4][header.index(SUGGESTIONS)] = "haze " * 6_600
    files["cell_over_size_limit.csv"] = csv_bytes(header, long)
    # a completion time typed as a formula; openpyxl, like any script, stores no result
    formula = [list(r) for r in rows]
    formula[2][header.index(DURATION)] = "=60*3"
    files["formula_without_cached_value.xlsx"] = workbook([("Sheet1", [header, *formula])])
    return files


def alias_bomb(key: str) -> str:
    """A YAML mapping under `key` whose aliases expand to 9**9 strings ("billion laughs")."""
    lines = [f"{key}:", '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def codebook_files() -> dict[str, bytes]:
    codebook = CODEBOOK.read_text(encoding="utf-8")
    return {"alias_bomb.yaml": (alias_bomb("notes") + codebook).encode("utf-8")}


def config_files() -> dict[str, bytes]:
    note = '# An alias bomb ("billion laughs"): half a kilobyte standing for 9**9 strings.\n'
    loop = "# A list that holds itself: a document without end.\nanalysis:\n  seed: &s [1, *s]\n"
    return {
        "alias_bomb.yaml": (note + alias_bomb("analysis")).encode("utf-8"),
        "alias_into_itself.yaml": loop.encode("utf-8"),
    }


def path_cases(folder: Path) -> None:
    """Export paths that name no regular file of the project (they hold nothing to derive).

    A directory named like an export (git keeps it by the note inside), and a link planted
    among the exports that leads out of the project, to a file every Unix system has.
    """
    directory = folder / "export_is_a_directory.csv"
    directory.mkdir(exist_ok=True)
    note = "This folder stands for an export path that names a directory, not a file.\n"
    write(directory, {"README.txt": note.encode("utf-8")})
    link = folder / "link_out_of_project.csv"
    if not link.is_symlink():
        link.symlink_to("/etc/passwd")


def write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        target = folder / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def main() -> None:
    write(HERE / "export", export_files())
    write(HERE / "codebook", codebook_files())
    write(HERE / "config", config_files())
    path_cases(HERE / "export")


if __name__ == "__main__":
    main()
