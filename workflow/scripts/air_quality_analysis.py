from hazegov.air import TABLES, run_air_quality_analysis
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_air_quality_analysis(
        hourly=snakemake.input.hourly,  # noqa: F821
        official=snakemake.input.official,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        tables={t: out[t] for t in TABLES},
        summary_out=out.summary,
        variables_out=out.variables,
        annual_table_out=out.annual_table,
        its_table_out=out.its_table,
        calendar_out=out.calendar,
        its_figure_out=out.its_figure,
        official_figure_out=out.official_figure,
        stations_table_out=out.stations_table,
        stations_figure_out=out.stations_figure,
    )
