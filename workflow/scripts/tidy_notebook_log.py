from hazegov.logs import rule_log, tidy_notebook_log

with rule_log(snakemake.log[0]):  # noqa: F821
    tidy_notebook_log(snakemake.input.executed, snakemake.output.notebook)  # noqa: F821
