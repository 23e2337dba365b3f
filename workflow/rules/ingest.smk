rule ingest_export:
    """Read the raw export through the codebook, validate it and drop direct identifiers."""
    input:
        export=config["survey"]["export"],
        codebook=config["survey"]["codebook"],
    output:
        responses="results/interim/responses.parquet",
        quality="results/interim/data_quality.csv",
        report="results/interim/ingest_report.json",
    params:
        encoding=config["survey"]["encoding"],
        out_of_range=config["survey"]["out_of_range"],
        sheet=config["survey"].get("sheet"),
    log:
        "logs/ingest_export.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/ingest_export.py"
