import os
from pathlib import Path

from hazegov.policy.register import register_text_files

PAPER_SOURCE_DIR = Path(workflow.basedir) / "paper"
PAPER_BUILD_DIR = "results/paper"


def paper_sources():
    """Paper source files (relative to paper/) that are staged into the build directory."""
    patterns = ("*.qmd", "chapters/*.qmd", "_quarto.yml", "*.bib", "*.csl", "*.css")
    found = {p for pattern in patterns for p in PAPER_SOURCE_DIR.glob(pattern)}
    return sorted(str(p.relative_to(PAPER_SOURCE_DIR)) for p in found)


def paper_outputs():
    suffix = {"html": "html", "pdf": "pdf", "docx": "docx"}
    return [f"{PAPER_BUILD_DIR}/_output/index.{suffix[f]}" for f in config["paper"]["formats"]]


# Every stage that puts numbers into the paper writes a variables fragment, a Markdown table
# or a figure; the paper rules collect them here.
ANALYSIS_VARIABLES = [
    "results/analysis/measurement/reliability_variables.yml",
    "results/analysis/measurement/factor_variables.yml",
    "results/analysis/cfa/variables.yml",
    "results/analysis/cmv/variables.yml",
    "results/analysis/invariance/variables.yml",
    "results/analysis/path_model/variables.yml",
    "results/analysis/groups/variables.yml",
    "results/analysis/regression/variables.yml",
    "results/analysis/air/variables.yml",
    "results/analysis/policy/variables.yml",
]
PAPER_TABLES = [
    "sample_by_group",
    "reliability",
    "validity",
    "invariance",
    "group_comparisons",
    "ols",
    "ordinal",
    "air_annual",
    "its",
    "policy_instruments",
    "policy_register",
]
PAPER_FIGURES = [
    "participant_flow",
    "scree_parallel_analysis",
    "efa_loadings",
    "path_model",
    "group_comparison",
    "coefficient_forest",
    "pm25_calendar",
    "pm25_monthly_its",
    "pm25_official_annual",
    "policy_timeline",
    "department_network",
]


def raw_inputs(wildcards):
    """Every raw input of the build, for the sha256 table of the reproducibility appendix."""
    export = config["survey"]["export"]
    sidecar = f"{export}.synthetic.json"
    files = [
        export,
        config["survey"]["codebook"],
        *[station["file"] for station in config["air_quality"]["stations"]],
        config["air_quality"]["official"],
        config["policies"]["register"],
        *register_text_files(config["policies"]["register"]),
        config["policies"]["departments"],
        config["policies"]["instruments"],
    ]
    if os.path.exists(sidecar):
        files.append(sidecar)
    return sorted(set(files))


# The rules behind each table and figure of the paper; captions name them and link their scripts.
MADE_BY = {
    "tbl-sample-by-group": "sample_by_group",
    "tbl-reliability": "reliability",
    "tbl-validity": "cfa",
    "tbl-invariance": "measurement_invariance",
    "tbl-group-comparisons": "group_comparisons",
    "tbl-ols": "regressions",
    "tbl-ordinal": "regressions",
    "tbl-air-annual": "air_quality_analysis",
    "tbl-its": "air_quality_analysis",
    "tbl-policy-instruments": "policy_text_analysis",
    "tbl-policy-register": "policy_text_analysis",
    "fig-participant-flow": "participant_flow_figure",
    "fig-scree": "factor_structure",
    "fig-efa-loadings": "factor_structure",
    "fig-path-model": "path_model",
    "fig-group-comparison": "group_comparisons",
    "fig-coefficients": "regressions",
    "fig-pm25-calendar": "air_quality_analysis",
    "fig-pm25-its": "air_quality_analysis",
    "fig-pm25-official": "air_quality_analysis",
    "fig-policy-timeline": "policy_text_analysis",
    "fig-department-network": "policy_text_analysis",
    "fig-rule-graph": "reproducibility_appendix",
}
