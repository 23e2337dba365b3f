from pathlib import Path

from hazegov.logs import rule_log
from hazegov.privacy.identifier_scan import run_identifier_scan

with rule_log(snakemake.log[0]):  # noqa: F821
    run_identifier_scan(
        snakemake.params.roots,  # noqa: F821
        snakemake.input.export,  # noqa: F821
        snakemake.output.report,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        quarantine=snakemake.input.quarantine,  # noqa: F821
        logs=Path(snakemake.log[0]).parent,  # noqa: F821  (the rule logs: logs/)
        public=snakemake.params.public,  # noqa: F821
        min_count=snakemake.params.min_cell_count,  # noqa: F821
        memo=snakemake.params.memo,  # noqa: F821
        locales=snakemake.params.locales,  # noqa: F821
    )
