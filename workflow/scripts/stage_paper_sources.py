from hazegov.logs import rule_log
from hazegov.outputs import stage_files

with rule_log(snakemake.log[0]):  # noqa: F821
    stage_files(list(snakemake.input), list(snakemake.output))  # noqa: F821
