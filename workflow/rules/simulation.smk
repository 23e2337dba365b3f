rule simulation_truth:
    """Exact population values of the key estimates at each simulated size, checked on a large draw."""
    input:
        population_model=simulation_population_model(),
        codebook=config["survey"]["codebook"],
    output:
        truth="results/simulation/truth.csv",
        check="results/simulation/truth_check.csv",
    params:
        settings=simulation_truth_settings(),
        sizes=SIMULATION["sizes"],
        n_draw=SIMULATION["check_draw"],
        seed=SIMULATION["seed"],
    # the breadth of the study, scheduled after the jobs on the paper's own path
    priority: -1
    log:
        "logs/simulation_truth.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule simulation_replications:
    """One job: a batch of synthetic exports of n submissions, each analysed as the study's data."""
    input:
        population_model=simulation_population_model(),
        codebook=config["survey"]["codebook"],
    output:
        out="results/simulation/replications/n{n}_b{batch}.parquet",
    wildcard_constraints:
        n="[1-9][0-9]*",
        batch="0|[1-9][0-9]*",
    params:
        settings=simulation_settings(),
        n=lambda wildcards: int(wildcards.n),
        replications=simulation_batch_replications,
        seed=SIMULATION["seed"],
        # each replication's ingested export, reused when only analysis choices change
        cache_dir="results/cache/simulation",
    # the breadth of the study, scheduled after the jobs on the paper's own path
    priority: -1
    log:
        "logs/simulation/replications_n{n}_b{batch}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule simulation_summary:
    """Bias, RMSE, coverage and power of the key estimates; the appendix table and figure."""
    input:
        truth="results/simulation/truth.csv",
        check="results/simulation/truth_check.csv",
        batches=simulation_batches(),
        population_model=simulation_population_model(),
        codebook=config["survey"]["codebook"],
    output:
        summary="results/simulation/summary.csv",
        variables="results/simulation/variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/simulation.md",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/simulation.png",
            caption="../report/simulation.rst",
            category="Simulation",
        ),
    params:
        config=SIMULATION,
    log:
        "logs/simulation_summary.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
