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
    params:
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/reliability.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


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
        "../scripts/run_stage.py"


CFA_TABLES = (
    "fit",
    "loadings",
    "factor_variances",
    "factor_covariances",
    "residual_variances",
    "validity",
    "validity_pairs",
)
PATH_TABLES = ("path_coefficients", "r_squared", "loadings", "indirect_effects", "fit")


rule cfa:
    """Confirmatory factor analysis by maximum likelihood; convergent and discriminant validity."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{t: f"results/analysis/cfa/{t}.csv" for t in CFA_TABLES},
        variables="results/analysis/cfa/variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/validity.md",
    params:
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/cfa.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule common_method_variance:
    """Harman's single-factor test and a common latent method factor."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        comparison="results/analysis/cmv/model_comparison.csv",
        summary="results/analysis/cmv/summary.json",
        variables="results/analysis/cmv/variables.yml",
    log:
        "logs/common_method_variance.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule measurement_invariance:
    """Configural, metric and scalar invariance across two respondent sectors."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        table_csv="results/analysis/invariance/models.csv",
        summary="results/analysis/invariance/summary.json",
        variables="results/analysis/invariance/variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/invariance.md",
    params:
        group=config["analysis"]["invariance_group"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/measurement_invariance.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule path_model:
    """Structural model of the grid-governance argument with bootstrap indirect effects."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{t: f"results/analysis/path_model/{t}.csv" for t in PATH_TABLES},
        summary="results/analysis/path_model/summary.json",
        variables="results/analysis/path_model/variables.yml",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/path_model.png",
            caption="../report/path_model.rst",
            category="Structural model",
        ),
    params:
        settings=config["analysis"]["path_model"],
        seed=config["analysis"]["seed"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/path_model.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule explore_measurement_model:
    """Where the CFA fits worst: residual correlations of item pairs (a notebook reviewers can edit)."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        residuals="results/analysis/cfa/residual_correlations.csv",
    log:
        # Snakemake's executed copy, with absolute paths; rule tidy_notebook_log keeps a
        # relative-path copy and deletes this one
        notebook="logs/notebooks/explore_measurement_model.executed.ipynb",
    conda:
        "../envs/pipeline.yaml"
    notebook:
        "../../notebooks/explore_measurement_model.py.ipynb"


rule tidy_notebook_log:
    """The executed notebook without Snakemake's preamble cell and with relative paths."""
    input:
        raw="logs/notebooks/{notebook}.executed.ipynb",
    output:
        clean="logs/notebooks/{notebook}.ipynb",
    wildcard_constraints:
        notebook=r"[A-Za-z0-9_]+",
    log:
        "logs/tidy_notebook_log/{notebook}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
