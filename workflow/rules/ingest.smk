rule ingest_export:
    """Read the raw export through the codebook, validate it and drop direct identifiers."""
    # Free text (suggestions, fill-ins, the channel) goes, redacted, only to the restricted
    # file results/interim/restricted/free_text.parquet, which only free_text_counts reads.
    input:
        export=config["survey"]["export"],
        codebook=config["survey"]["codebook"],
    output:
        responses="results/interim/responses.parquet",
        quality="results/interim/data_quality.csv",
        report="results/interim/ingest_report.json",
        free_text=FREE_TEXT_QUARANTINE,
    params:
        encoding=config["survey"]["encoding"],
        out_of_range=config["survey"]["out_of_range"],
        sheet=config["survey"].get("sheet"),
        locales=IDENTIFIER_LOCALES,
    log:
        "logs/ingest_export.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
