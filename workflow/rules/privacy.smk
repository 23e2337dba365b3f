# Privacy gate: the last job of the build scans every file under results/ (tables, data sets,
# figures, the rendered paper) for direct identifiers and stops the build if it finds one.


rule identifier_scan:
    """Scan every output and the rendered paper for names, phone, ID, e-mail, IP and WeChat ids."""
    input:
        outputs=final_outputs(),
        export=config["survey"]["export"],
    output:
        report="results/privacy/identifier_scan.json",
    log:
        "logs/identifier_scan.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/identifier_scan.py"
