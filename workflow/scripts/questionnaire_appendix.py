from hazegov.logs import rule_log
from hazegov.paper.stages import run_questionnaire_appendix

with rule_log(snakemake.log[0]):  # noqa: F821
    run_questionnaire_appendix(snakemake.input.codebook, snakemake.output.markdown)  # noqa: F821
