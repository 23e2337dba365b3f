from hazegov.logs import rule_log
from hazegov.robustness.multiverse import run_multiverse_group

with rule_log(snakemake.log[0]):  # noqa: F821
    run_multiverse_group(
        responses=snakemake.input.responses,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        variants=list(snakemake.params.variants),  # noqa: F821
        group_out=snakemake.output.group,  # noqa: F821
        cache_dir=snakemake.params.cache,  # noqa: F821
        min_cell_count=snakemake.params.min_cell_count,  # noqa: F821
    )
