rule clean_responses:
    """Apply the exclusion rules and reverse-code: the internal analysis data set and the flow."""
    input:
        responses="results/interim/responses.parquet",
        codebook=config["survey"]["codebook"],
    output:
        analysis="results/processed/analysis.parquet",
        flow="results/processed/participant_flow.csv",
    params:
        exclusions=config["exclusions"],
        min_cell_count=config["privacy"]["min_cell_count"],
    log:
        "logs/clean_responses.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule release_data_set:
    """The data set released with the paper: generalised, checked for k-anonymity, labelled."""
    input:
        analysis="results/processed/analysis.parquet",
        codebook=config["survey"]["codebook"],
    output:
        sav=f"results/release/{RELEASE_BASENAME}.sav",
        csv=f"results/release/{RELEASE_BASENAME}.csv",
        dictionary="results/release/data_dictionary.csv",
        report="results/release/k_anonymity.json",
        variables="results/release/variables.yml",
    params:
        release=config["privacy"]["release"],
        min_cell_count=config["privacy"]["min_cell_count"],
        file_label=config["release"]["label"],
    log:
        "logs/release_data_set.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule analysis_sample:
    """Apply the configured missing-data rule once; every analysis reads this sample."""
    input:
        analysis="results/processed/analysis.parquet",
        codebook=config["survey"]["codebook"],
    output:
        sample="results/analysis/analysis_sample.parquet",
        report="results/analysis/missing_data.json",
    params:
        missing_data=config["analysis"]["missing_data"],
        controls=sample_required_answers(),
    # every analysis of the paper waits for it: first among the jobs ready beside it
    priority: 1
    log:
        "logs/analysis_sample.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
