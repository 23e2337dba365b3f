# Multiverse of the key estimates: every combination of the analytic choices in
# config/multiverse.yaml is one specification. The data choices define sample variants; the
# variants are split into multiverse.jobs groups, and one job per group prepares its variants
# and fits their specifications (rule multiverse_group); rule multiverse_summary gathers them.
# The grid and the settings each job carries come from workflow/rules/common.smk.


rule multiverse_group:
    """Some sample variants and every specification fitted to them (unchanged ones reused)."""
    input:
        responses="results/interim/responses.parquet",
        codebook=config["survey"]["codebook"],
    output:
        group="results/multiverse/groups/{group}.json",
    params:
        variants=multiverse_group_settings,
        cache_dir=MULTIVERSE_CACHE,
        min_cell_count=config["privacy"]["min_cell_count"],
    wildcard_constraints:
        group=r"g\d+",
    # the breadth of the study, scheduled after the jobs on the paper's own path
    priority: -1
    log:
        "logs/multiverse/groups/{group}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule multiverse_summary:
    """All specifications in one table; shares keeping sign and significance; the curve."""
    input:
        records=expand("results/multiverse/groups/{group}.json", group=MULTIVERSE_GROUPS),
        codebook=config["survey"]["codebook"],
    output:
        estimates="results/multiverse/estimates.csv",
        specifications="results/multiverse/specifications.csv",
        summary="results/multiverse/summary.json",
        by_dimension="results/multiverse/summary_by_dimension.csv",
        variables="results/multiverse/variables.yml",
        table=f"{PAPER_BUILD_DIR}/tables/multiverse.md",
        options_table=f"{PAPER_BUILD_DIR}/tables/multiverse_by_choice.md",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/specification_curve.png",
            caption="../report/multiverse_specification_curve.rst",
            category="Robustness",
        ),
    params:
        config={
            "multiverse": config["multiverse"],
            "analysis": {"regression": config["analysis"]["regression"]},
        },
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/multiverse_summary.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
