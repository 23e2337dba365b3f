from pathlib import Path

from hazegov.identifier_scan import run_identifier_scan
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    report = Path(snakemake.output.report)  # noqa: F821
    # results/privacy/identifier_scan.json -> the whole results/ tree
    run_identifier_scan([report.parents[1]], snakemake.input.export, report)  # noqa: F821
