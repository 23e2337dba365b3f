from hazegov.disclosure import run_disclosure_check
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    run_disclosure_check(
        snakemake.params.results,  # noqa: F821
        snakemake.params.min_cell_count,  # noqa: F821
        snakemake.output.report,  # noqa: F821
    )
