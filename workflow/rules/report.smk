# The results report for any questionnaire (issue 14): a generated Quarto report of the analyses,
# built by `snakemake --cores 2 results_report`. Not part of `rule all`.
REPORT_DIR = "results/report"
# HTML always, and the paper's other formats (config paper.formats)
REPORT_FORMATS = ["html", *(f for f in config["paper"]["formats"] if f != "html")]


rule results_report:
    """A generic results report from templates: the codebook, the config and the analysis outputs."""
    input:
        codebook=config["survey"]["codebook"],
        flow="results/processed/participant_flow.csv",
        missing_data="results/analysis/missing_data.json",
        item_statistics="results/analysis/measurement/item_statistics.csv",
        scale_reliability="results/analysis/measurement/scale_reliability.csv",
        factor_structure="results/analysis/measurement/factor_structure.json",
        efa_loadings="results/analysis/measurement/efa_loadings.csv",
        efa_variance="results/analysis/measurement/efa_variance.csv",
        cfa_fit="results/analysis/cfa/fit.csv",
        cfa_loadings="results/analysis/cfa/loadings.csv",
        invariance_models="results/analysis/invariance/models.csv",
        invariance_summary="results/analysis/invariance/summary.json",
        group_omnibus="results/analysis/groups/omnibus.csv",
        ols_coefficients="results/analysis/regression/ols_coefficients.csv",
        ols_fit="results/analysis/regression/ols_fit.csv",
        ordinal_coefficients="results/analysis/regression/ordinal_coefficients.csv",
        ordinal_fit="results/analysis/regression/ordinal_fit.csv",
    output:
        index=f"{REPORT_DIR}/index.qmd",
        project=f"{REPORT_DIR}/_quarto.yml",
        variables=f"{REPORT_DIR}/_variables.yml",
        tables=directory(f"{REPORT_DIR}/tables"),
        rendered=[f"{REPORT_DIR}/_output/index.{fmt}" for fmt in REPORT_FORMATS],
    params:
        settings={
            "invariance_group": config["analysis"]["invariance_group"],
            "group": config["analysis"]["group_comparisons"]["group"],
            "regression": config["analysis"]["regression"],
        },
        min_cell_count=config["privacy"]["min_cell_count"],
        formats=REPORT_FORMATS,
        renderer=config["paper"]["renderer"],
    log:
        "logs/results_report.log",
    conda:
        "../envs/paper.yaml"
    script:
        "../scripts/results_report.py"
