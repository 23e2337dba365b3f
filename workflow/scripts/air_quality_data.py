from hazegov.air import run_air_quality_data
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    run_air_quality_data(
        stations=list(snakemake.params.stations),  # noqa: F821
        hourly_out=snakemake.output.hourly,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
    )
