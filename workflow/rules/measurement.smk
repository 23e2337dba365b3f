RELIABILITY_TABLES = ("item_statistics", "scale_reliability", "item_reliability")
FACTOR_TABLES = (
    "kmo",
    "parallel_analysis",
    "efa_loadings",
    "efa_factor_correlations",
    "efa_variance",
    "efa_communalities",
)


rule reliability:
    """Item statistics and scale reliability: alpha with CI, omega, item-total correlations."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{t: f"results/analysis/measurement/{t}.csv" for t in RELIABILITY_TABLES},
        variables="results/analysis/measurement/reliability_variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/reliability.md",
    log:
        "logs/reliability.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/reliability.py"


rule factor_structure:
    """Sampling adequacy, parallel analysis and the oblique exploratory factor analysis."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{t: f"results/analysis/measurement/{t}.csv" for t in FACTOR_TABLES},
        summary="results/analysis/measurement/factor_structure.json",
        variables="results/analysis/measurement/factor_variables.yml",
        scree=report(
            f"{PAPER_BUILD_DIR}/figures/scree_parallel_analysis.png",
            caption="../report/scree.rst",
            category="Measurement",
        ),
        heatmap=report(
            f"{PAPER_BUILD_DIR}/figures/efa_loadings.png",
            caption="../report/efa_loadings.rst",
            category="Measurement",
        ),
    params:
        settings={
            "parallel_analysis": config["analysis"]["parallel_analysis"],
            "efa": config["analysis"]["efa"],
        },
        seed=config["analysis"]["seed"],
    log:
        "logs/factor_structure.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/factor_structure.py"
