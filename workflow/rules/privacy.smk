# Privacy: the only reader of the quarantined free text, and the gate. The gate is the last job
# of the build: it scans every file under results/ (tables, data sets, figures, caches, the
# rendered paper) and logs/ for direct identifiers, raw free text, long digit runs and absolute
# paths, and stops the build if it finds one.


rule free_text_counts:
    """Publish how many submissions answered each free-text question (small counts suppressed)."""
    input:
        quarantine=FREE_TEXT_QUARANTINE,
        codebook=config["survey"]["codebook"],
    output:
        table="results/tables/free_text_answers.csv",
    params:
        min_count=config["privacy"]["min_cell_count"],
    log:
        "logs/free_text_counts.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule identifier_scan:
    """Scan every output, the logs and the rendered paper for identifiers and raw free text."""
    input:
        # everything it scans
        final_outputs(),
        # after the disclosure check, so that its report and log are always scanned: run side by
        # side, the scan would see them or not depending on which job finished first
        "results/privacy/disclosure_check.json",
        export=config["survey"]["export"],
        codebook=config["survey"]["codebook"],
        quarantine=FREE_TEXT_QUARANTINE,
    output:
        report="results/privacy/identifier_scan.json",
    # the last job, alone on the machine: its files are scanned by as many worker processes
    threads: 2
    params:
        roots=["results"],
        # published text: a phrase of the questionnaire, a config label or a policy document
        # copied into an answer is not a leak of the answer
        public=[
            str(Path(config["survey"]["codebook"]).parent),
            *([str(Path(config["policies"]["register"]).parent)] if STRANDS_ON["policy"] else []),
            str(PAPER_SOURCE_DIR),
        ],
        min_count=config["privacy"]["min_cell_count"],
        memo="results/cache/identifier_scan",
        # the rule logs, logs/ (a function, as the directory holds a file of the inputs, the
        # notebook's log, and --lint takes a literal prefix of an input for a file prefix)
        logs=lambda wildcards: "logs",
        # the identifier patterns the ingest redacted free text with, looked for again
        locales=IDENTIFIER_LOCALES,
        # Snakemake gives the job at most --cores threads
        workers=lambda wildcards, threads: threads,
    log:
        "logs/identifier_scan.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule disclosure_check:
    """Stop the build if a published file (CSV, Markdown, JSON, YAML, parquet) shows a small count."""
    input:
        # everything it checks
        final_outputs(),
    output:
        report="results/privacy/disclosure_check.json",
    params:
        # results/privacy/disclosure_check.json -> every published file under results/
        results=lambda wildcards, output: str(Path(output.report).parents[1]),
        min_count=config["privacy"]["min_cell_count"],
    log:
        "logs/disclosure_check.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
