GROUP_TABLES = ("descriptives", "omnibus", "pairwise")
OLS_TABLES = ("coefficients", "vif", "terms", "fit")
ORDINAL_TABLES = ("coefficients", "thresholds", "brant", "fit")


rule group_comparisons:
    """Construct scores across respondent sectors: Welch ANOVA, Kruskal-Wallis, pairwise tests."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{t: f"results/analysis/groups/{t}.csv" for t in GROUP_TABLES},
        summary="results/analysis/groups/summary.json",
        variables="results/analysis/groups/variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/group_comparisons.md",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/group_comparison.png",
            caption="../report/group_comparison.rst",
            category="Group comparisons",
        ),
    params:
        settings=config["analysis"]["group_comparisons"],
        seed=config["analysis"]["seed"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/group_comparisons.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule regressions:
    """OLS of perceived effectiveness (HC3) and ordinal logit of overall satisfaction."""
    input:
        sample="results/analysis/analysis_sample.parquet",
        codebook=config["survey"]["codebook"],
    output:
        **{f"ols_{t}": f"results/analysis/regression/ols_{t}.csv" for t in OLS_TABLES},
        **{f"ordinal_{t}": f"results/analysis/regression/ordinal_{t}.csv" for t in ORDINAL_TABLES},
        summary="results/analysis/regression/summary.json",
        variables="results/analysis/regression/variables.yml",
        ols_table=f"{PAPER_BUILD_DIR}/tables/ols.md",
        ordinal_table=f"{PAPER_BUILD_DIR}/tables/ordinal.md",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/coefficient_forest.png",
            caption="../report/coefficient_forest.rst",
            category="Regression",
        ),
    params:
        settings=config["analysis"]["regression"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/regressions.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
