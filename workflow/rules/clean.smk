rule clean_responses:
    """Apply the exclusion rules, reverse-code, and write the analysis data set."""
    input:
        responses="results/interim/responses.parquet",
        codebook=config["survey"]["codebook"],
    output:
        analysis="results/processed/analysis.parquet",
        flow="results/processed/participant_flow.csv",
        sav="results/processed/analysis.sav",
        dictionary="results/processed/data_dictionary.csv",
    params:
        exclusions=config["exclusions"],
    log:
        "logs/clean_responses.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/clean_responses.py"


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
    log:
        "logs/analysis_sample.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/analysis_sample.py"
