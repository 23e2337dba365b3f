# Policy-document strand: the register of air-pollution documents and their texts -> a corpus ->
# department and instrument codings, the co-mention network, responsibility spread per instrument
# category, the policy timeline; numbers, tables and figures for the introduction.
# The register is read while the DAG is built (standard library only, no pandas): every text it
# names becomes an input of policy_corpus, so editing, adding or replacing a text reruns the
# strand. A named file that does not exist drops out of the inputs instead of failing here (see
# register_text_files); the changed inputs rerun policy_corpus, whose validation names the
# register row and column.
from hazegov.policy.register import register_text_files

POLICY = config["policies"]
POLICY_TABLES = (
    "documents",
    "mentions",
    "instrument_coding",
    "instrument_mix",
    "department_mentions",
    "network_nodes",
    "network_edges",
    "department_category_links",
    "responsibility_spread",
    "policy_events",
)


rule policy_corpus:
    """Register + texts (.txt/.md/.docx/.pdf, Chinese or English) -> one row per document."""
    input:
        # the texts the register names (read through it)
        lambda wildcards: register_text_files(POLICY["register"]),
        register=POLICY["register"],
    output:
        corpus="results/interim/policy/corpus.parquet",
        report="results/interim/policy/corpus_report.json",
    params:
        ingest=POLICY["ingest"],
    log:
        "logs/policy_corpus.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule policy_text_analysis:
    """Codings, co-mention network, responsibility spread, timeline; variables, tables, figures."""
    input:
        corpus="results/interim/policy/corpus.parquet",
        departments=POLICY["departments"],
        instruments=POLICY["instruments"],
    output:
        **{t: f"results/analysis/policy/{t}.csv" for t in POLICY_TABLES},
        summary="results/analysis/policy/summary.json",
        variables="results/analysis/policy/variables.yml",
        instruments_table=f"{PAPER_BUILD_DIR}/tables/policy_instruments.md",
        register_table=f"{PAPER_BUILD_DIR}/tables/policy_register.md",
        timeline=report(
            f"{PAPER_BUILD_DIR}/figures/policy_timeline.png",
            caption="../report/policy_timeline.rst",
            category="Policy documents",
        ),
        network=report(
            f"{PAPER_BUILD_DIR}/figures/department_network.png",
            caption="../report/policy_department_network.rst",
            category="Policy documents",
        ),
    params:
        language=POLICY["language"],
        analysis=POLICY["analysis"],
        jieba_cache_dir=POLICY.get("jieba_cache_dir"),
    log:
        "logs/policy_text_analysis.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"
