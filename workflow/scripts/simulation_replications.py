from hazegov.logs import rule_log
from hazegov.robustness.simulation import run_simulation_batch

with rule_log(snakemake.log[0]):  # noqa: F821
    run_simulation_batch(
        population_model=snakemake.input.population_model,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        n=int(snakemake.wildcards.n),  # noqa: F821
        replications=list(snakemake.params.replications),  # noqa: F821
        seed=int(snakemake.params.seed),  # noqa: F821
        out=snakemake.output.replications,  # noqa: F821
        cache_dir=snakemake.params.cache,  # noqa: F821
    )
