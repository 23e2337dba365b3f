"""Command line: `hazegov synthesize` draws the synthetic export; `check` validates a raw input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hazegov.errors import HazegovError
from hazegov.survey.synthetic import EXPORT_FORMATS, generate


def _synthesize(args: argparse.Namespace) -> int:
    out = generate(args.codebook, args.population, args.out, fmt=args.format, n=args.n)
    print(f"wrote {out} and its synthetic-data sidecar")
    return 0


def _check_export(args: argparse.Namespace) -> int:
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.ingest import ingest_export, missing_cell_lines

    result = ingest_export(
        Path(args.export),
        load_codebook(args.codebook),
        encoding=args.encoding,
        sheet_name=args.sheet,
    )
    print(
        f"{args.export}: {result.report['rows']} rows, encoding {result.report['encoding']}, "
        f"{result.report['out_of_range_cells']} out-of-range cells set to missing"
    )
    for line in missing_cell_lines(result.report):
        print(line)
    return 0


def _check(args: argparse.Namespace) -> int:
    import tempfile

    from hazegov.checks import check_input

    options = dict(option.split("=", 1) for option in args.option)
    if args.out:
        notes = check_input(args.source, args.file, args.out, **options)
    else:
        with tempfile.TemporaryDirectory() as out:
            notes = check_input(args.source, args.file, out, **options)
    print(f"{args.file}: no problems found as a {args.source} input")
    for note in notes:
        print(note)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazegov", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    syn = sub.add_parser("synthesize", help="draw a synthetic questionnaire export")
    syn.add_argument("--codebook", default="config/codebook.yaml")
    syn.add_argument("--population", default="config/population_model.yaml")
    syn.add_argument("--out", default="data/raw/haze_governance_survey.csv")
    syn.add_argument("--format", choices=EXPORT_FORMATS, default="csv-utf8")
    syn.add_argument("--n", type=int, default=None, help="respondents (default: the model's)")
    syn.set_defaults(func=_synthesize)

    chk = sub.add_parser("check-export", help="validate an export against the codebook")
    chk.add_argument("export")
    chk.add_argument("--codebook", default="config/codebook.yaml")
    chk.add_argument("--encoding", default="auto")
    chk.add_argument("--sheet", default=None, help="the sheet of an XLSX export to read")
    chk.set_defaults(func=_check_export)

    from hazegov.checks import SOURCES

    check = sub.add_parser(
        "check", help="read one raw input as its pipeline stage does and report every problem"
    )
    check.add_argument("source", choices=sorted(SOURCES))
    check.add_argument("file")
    check.add_argument("--out", help="write the stage's outputs here (default: a temporary dir)")
    check.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="stage setting, e.g. codebook=PATH, out_of_range=error, export=PATH",
    )
    check.set_defaults(func=_check)

    from hazegov.paper import diff as paper_diff

    pdiff = sub.add_parser("paper-diff", help="compare the paper build with a saved baseline")
    paper_diff.configure_parser(pdiff)
    pdiff.set_defaults(func=paper_diff.run)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except HazegovError as exc:
        print(f"hazegov: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
