rule sample_by_group:
    """Analysed respondents per respondent group."""
    input:
        analysis="results/processed/analysis.parquet",
        codebook=config["survey"]["codebook"],
    output:
        table="results/tables/sample_by_group.csv",
        markdown=f"{PAPER_BUILD_DIR}/tables/sample_by_group.md",
    params:
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/sample_by_group.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule participant_flow_figure:
    """The participant flow from submissions received to respondents analysed."""
    input:
        flow="results/processed/participant_flow.csv",
    output:
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/participant_flow.png",
            caption="../report/participant_flow.rst",
            category="Sample",
        ),
    params:
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/participant_flow_figure.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
