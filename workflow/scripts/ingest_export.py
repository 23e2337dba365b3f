from hazegov.logs import rule_log
from hazegov.survey.stages import run_ingest

with rule_log(snakemake.log[0]):  # noqa: F821
    run_ingest(
        export=snakemake.input.export,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        encoding=snakemake.params.encoding,  # noqa: F821
        out_of_range=snakemake.params.out_of_range,  # noqa: F821
        responses_out=snakemake.output.responses,  # noqa: F821
        quality_out=snakemake.output.quality,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
        sheet=snakemake.params.sheet,  # noqa: F821
        free_text_out=snakemake.output.free_text,  # noqa: F821
        locales=snakemake.params.locales,  # noqa: F821
    )
