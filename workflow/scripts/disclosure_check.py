from pathlib import Path

from hazegov.logs import rule_log
from hazegov.privacy.disclosure import run_disclosure_check

with rule_log(snakemake.log[0]):  # noqa: F821
    run_disclosure_check(
        # results/privacy/disclosure_check.json -> every published file under results/
        Path(snakemake.output.report).parents[1],  # noqa: F821
        snakemake.params.min_cell_count,  # noqa: F821
        snakemake.output.report,  # noqa: F821
    )
