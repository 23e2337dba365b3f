import os

from hazegov.logs import rule_log
from hazegov.paper.reproducibility import run_reproducibility_appendix

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_reproducibility_appendix(
        snakefile=snakemake.params.snakefile,  # noqa: F821
        workdir=os.getcwd(),
        raw_inputs=list(snakemake.input.raw),  # noqa: F821
        repository_url=snakemake.params.repository_url,  # noqa: F821
        dot_out=out.dot,
        figure_out=out.figure,
        markdown_out=out.markdown,
        rule_graph_config=dict(snakemake.params.rule_graph_config),  # noqa: F821
    )
