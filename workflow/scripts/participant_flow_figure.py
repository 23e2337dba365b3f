from hazegov.logs import rule_log
from hazegov.survey.stages import run_participant_flow_figure

with rule_log(snakemake.log[0]):  # noqa: F821
    run_participant_flow_figure(
        flow=snakemake.input.flow,  # noqa: F821
        figure_out=snakemake.output.figure,  # noqa: F821
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
