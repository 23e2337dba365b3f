# Multiverse of the key estimates (issue 7): every combination of the analytic choices in
# config/multiverse.yaml is one specification and one job. The data choices define sample
# variants, each prepared once (rule multiverse_sample); every specification fits its model to
# its variant (rule multiverse_specification); rule multiverse_summary gathers them. The grid
# and the settings each job carries come from workflow/rules/common.smk (section multiverse).


rule multiverse_sample:
    """One data variant of the multiverse: exclusions, missing data, sectors, factor scores."""
    input:
        responses="results/interim/responses.parquet",
        codebook=config["survey"]["codebook"],
    output:
        sample="results/multiverse/samples/{sample}.parquet",
        report="results/multiverse/samples/{sample}.json",
    params:
        settings=multiverse_sample_settings,
    wildcard_constraints:
        sample=r"d\d+",
    log:
        "logs/multiverse/samples/{sample}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/multiverse_sample.py"


rule multiverse_specification:
    """One specification of the multiverse: its model fitted to its sample variant."""
    input:
        unpack(multiverse_specification_inputs),
        codebook=config["survey"]["codebook"],
    output:
        record="results/multiverse/specifications/{spec}.json",
    params:
        settings=multiverse_specification_settings,
    wildcard_constraints:
        spec=r"s\d+",
    log:
        "logs/multiverse/specifications/{spec}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/multiverse_specification.py"


rule multiverse_summary:
    """All specifications in one table; shares keeping sign and significance; the curve."""
    input:
        records=expand(
            "results/multiverse/specifications/{spec}.json", spec=multiverse_specification_ids()
        ),
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
        multiverse=config["multiverse"],
        regression=config["analysis"]["regression"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/multiverse_summary.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/multiverse_summary.py"
