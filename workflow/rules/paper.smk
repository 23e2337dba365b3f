rule stage_paper_sources:
    """Copy the paper sources into the build directory, beside the generated inputs."""
    input:
        sources=[str(PAPER_SOURCE_DIR / source) for source in paper_sources()],
    output:
        staged=[f"{PAPER_BUILD_DIR}/{source}" for source in paper_sources()],
    params:
        # the passages and chapters of the strands switched off are left out
        enabled=STRANDS_ON,
    log:
        "logs/stage_paper_sources.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule questionnaire_appendix:
    """The questionnaire in both languages, printed from the codebook."""
    input:
        codebook=config["survey"]["codebook"],
    output:
        markdown=f"{PAPER_BUILD_DIR}/appendix/questionnaire.md",
    log:
        "logs/questionnaire_appendix.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule paper_variables:
    """Every number the paper's prose quotes, taken from pipeline outputs."""
    input:
        flow="results/processed/participant_flow.csv",
        sample="results/tables/sample_by_group.csv",
        ingest_report="results/interim/ingest_report.json",
        analysis="results/processed/analysis.parquet",
        codebook=config["survey"]["codebook"],
        missing_data="results/analysis/missing_data.json",
        # every rule's output named `variables` (workflow/rules/common.smk)
        fragments=lambda wildcards: analysis_variables(),
    output:
        variables=f"{PAPER_BUILD_DIR}/_variables.yml",
        provenance=f"{PAPER_BUILD_DIR}/variables_provenance.csv",
        provenance_table=f"{PAPER_BUILD_DIR}/appendix/variable_sources.md",
    params:
        exclusions=config["exclusions"],
        made_by=lambda wildcards: made_by(),
        fragment_rules=lambda wildcards: fragment_rules(),
        repository_url=config["paper"].get("repository_url", ""),
    log:
        "logs/paper_variables.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule render_paper:
    """Quarto when it is on PATH, otherwise the pandoc/typst preview render."""
    input:
        # what the paper includes: its sources, numbers, tables, figures and appendices
        expand(f"{PAPER_BUILD_DIR}/{{source}}", source=paper_sources()),
        f"{PAPER_BUILD_DIR}/_variables.yml",
        lambda wildcards: paper_tables(),
        lambda wildcards: paper_figures(),
        f"{PAPER_BUILD_DIR}/appendix/questionnaire.md",
        f"{PAPER_BUILD_DIR}/appendix/reproducibility.md",
        f"{PAPER_BUILD_DIR}/appendix/variable_sources.md",
        # nothing, or the error naming the parts of the paper that need a strand switched off
        paper_needs_strands,
    output:
        # the paper in each format, by format
        **dict(zip(config["paper"]["formats"], paper_outputs())),
    params:
        # results/paper/_output/index.html -> results/paper
        build_dir=lambda wildcards, output: str(Path(output[0]).parents[1]),
        renderer=config["paper"]["renderer"],
        # a changed list renders the paper again (a format dropped changes no output left)
        formats=config["paper"]["formats"],
    log:
        "logs/render_paper.log",
    conda:
        "../envs/paper.yaml"
    script:
        "../scripts/run_stage.py"


rule reproducibility_appendix:
    """Appendix B: software versions, sha256 of every raw input, commands, the rule graph."""
    input:
        raw_inputs=raw_inputs,
    output:
        dot=f"{PAPER_BUILD_DIR}/appendix/rulegraph.dot",
        figure=report(
            f"{PAPER_BUILD_DIR}/figures/rule_graph.png",
            caption="../report/rule_graph.rst",
            category="Reproducibility",
        ),
        markdown=f"{PAPER_BUILD_DIR}/appendix/reproducibility.md",
    params:
        snakefile=workflow.main_snakefile,
        # the rule graph is drawn by a nested run in the same directory
        workdir=".",
        repository_url=config["paper"].get("repository_url", ""),
        # what decides which rules the graph shows (an override file would not reach it)
        rule_graph_config={
            "strands": STRANDS_ON,
            "paper": {"source_dir": config["paper"].get("source_dir", "paper")},
        },
    log:
        "logs/reproducibility_appendix.log",
    conda:
        "../envs/paper.yaml"
    script:
        "../scripts/run_stage.py"


PAPER_BASELINE = "results/baselines/default"


rule paper_diff:
    """What a config change did to the paper: numbers, sentences, table cells, figures."""
    input:
        manifest=f"{PAPER_BASELINE}/baseline.json",
        variables=f"{PAPER_BUILD_DIR}/_variables.yml",
        sources=expand(f"{PAPER_BUILD_DIR}/{{source}}", source=paper_sources()),
        tables=lambda wildcards: paper_tables(),
        figures=lambda wildcards: paper_figures(),
    output:
        report="results/paper_diff/report.html",
    params:
        baseline=lambda wildcards, input: os.path.dirname(input.manifest),
        build_dir=lambda wildcards, input: os.path.dirname(input.variables),
    log:
        "logs/paper_diff.log",
    conda:
        "../envs/paper.yaml"
    shell:
        "hazegov paper-diff compare {params.baseline} {params.build_dir} --out {output.report} > {log} 2>&1"
