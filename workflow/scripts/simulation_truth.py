from hazegov.logs import rule_log
from hazegov.robustness.simulation import run_simulation_truth

with rule_log(snakemake.log[0]):  # noqa: F821
    run_simulation_truth(
        population_model=snakemake.input.population_model,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        sizes=[int(n) for n in snakemake.params.sizes],  # noqa: F821
        n_draw=int(snakemake.params.check_draw),  # noqa: F821
        seed=int(snakemake.params.seed),  # noqa: F821
        truth_out=snakemake.output.truth,  # noqa: F821
        check_out=snakemake.output.check,  # noqa: F821
    )
