from hazegov.logs import tidy_notebook_log

tidy_notebook_log(snakemake.input.executed, snakemake.output.notebook)  # noqa: F821
