from hazegov.logs import rule_log
from hazegov.privacy.release import run_release

with rule_log(snakemake.log[0]):  # noqa: F821
    run_release(
        analysis=snakemake.input.analysis,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        release=dict(snakemake.params.release),  # noqa: F821
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
        file_label=snakemake.params.file_label,  # noqa: F821
        sav_out=snakemake.output.sav,  # noqa: F821
        csv_out=snakemake.output.csv,  # noqa: F821
        dictionary_out=snakemake.output.dictionary,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
        variables_out=snakemake.output.variables,  # noqa: F821
    )
