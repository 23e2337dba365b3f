import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from hazegov.policy.register import register_text_files
from hazegov.strands import (
    enabled_strands,
    paper_blocked_message,
    paper_blockers,
    paper_for_strands,
    without_strands_off,
)

# The strands switched on in config["strands"] (all by default); the Snakefile includes the
# rules of these only, so nothing can plan a job of a strand that is off.
STRANDS_ON = enabled_strands(config)

# The paper's sources: a relative paper.source_dir is read from the workflow's own directory.
PAPER_SOURCE_DIR = Path(workflow.basedir) / config["paper"].get("source_dir", "paper")
PAPER_BUILD_DIR = "results/paper"
# The one restricted file that holds free text (redacted); only rule free_text_counts reads it.
FREE_TEXT_QUARANTINE = "results/interim/restricted/free_text.parquet"
# identifier pattern sets of the redaction at ingest and of the identifier scan
IDENTIFIER_LOCALES = list(config["privacy"].get("identifier_locales", ["CN", "international"]))
# The data set released with the paper: results/release/<basename>.sav and .csv.
RELEASE_BASENAME = config["release"]["basename"]


def paper_sources():
    """Paper source files (relative to paper/) that are staged into the build directory,
    without the chapters of the strands switched off."""
    patterns = ("*.qmd", "_quarto.yml", "*.bib", "*.csl", "*.css", "*.typ")
    found = {p for pattern in patterns for p in PAPER_SOURCE_DIR.glob(pattern)}
    sources = sorted(str(p.relative_to(PAPER_SOURCE_DIR)) for p in found)
    return paper_for_strands(sources, STRANDS_ON)


# Lines of the paper that quote a strand switched off outside its chapters and marked passages:
# then the paper is not rendered (none in the study's own paper).
PAPER_BLOCKERS = paper_blockers(PAPER_SOURCE_DIR, paper_sources(), STRANDS_ON)


if PAPER_BLOCKERS and workflow.is_main_process:
    logger.warning(paper_blocked_message(PAPER_BLOCKERS))


def paper_needs_strands(wildcards):
    """No input; asked for the paper while a strand it quotes is off, the error naming the
    parts that need it (rather than a missing table of a rule that is not there)."""
    if PAPER_BLOCKERS:
        raise WorkflowError(paper_blocked_message(PAPER_BLOCKERS))
    return []


def paper_outputs():
    suffix = {"html": "html", "pdf": "pdf", "docx": "docx"}
    return [f"{PAPER_BUILD_DIR}/_output/index.{suffix[f]}" for f in config["paper"]["formats"]]


def paper_inputs():
    """The paper's numbers, tables and figures (those of the strands switched on)."""
    return [
        f"{PAPER_BUILD_DIR}/_variables.yml",
        *(f"{PAPER_BUILD_DIR}/tables/{table}.md" for table in PAPER_TABLES),
        *(f"{PAPER_BUILD_DIR}/figures/{figure}.png" for figure in PAPER_FIGURES),
    ]


def release_files():
    """The released data set, named by config release.basename."""
    return [
        f"results/release/{RELEASE_BASENAME}.sav",
        f"results/release/{RELEASE_BASENAME}.csv",
    ]


def final_outputs():
    """What a build delivers: the paper, the released data set and the supplementary tables.

    With a strand off that the paper quotes (PAPER_BLOCKERS), the paper's inputs instead of
    the paper: every number, table and figure of the analyses that run. The identifier scan
    (workflow/rules/privacy.smk) runs after all of them.
    """
    return [
        *(paper_inputs() if PAPER_BLOCKERS else paper_outputs()),
        *release_files(),
        "results/release/data_dictionary.csv",
        "results/release/k_anonymity.json",
        "results/analysis/cfa/residual_correlations.csv",
        "results/tables/free_text_answers.csv",
        "logs/notebooks/explore_measurement_model.ipynb",
    ]


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
    "results/release/variables.yml",
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
    "air_stations",
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
    "pm25_stations",
    "pm25_monthly_its",
    "pm25_official_annual",
    "policy_timeline",
    "department_network",
]


def raw_inputs(wildcards):
    """Every raw input of the build, for the sha256 table of the reproducibility appendix."""
    export = config["survey"]["export"]
    sidecar = f"{export}.synthetic.json"
    files = [export, config["survey"]["codebook"]]
    if STRANDS_ON["air_quality"]:
        files += [station["file"] for station in config["air_quality"]["stations"]]
        files.append(config["air_quality"]["official"])
    if STRANDS_ON["policy"]:
        policies = config["policies"]
        files += [policies["register"], *register_text_files(policies["register"])]
        files += [policies["departments"], policies["instruments"]]
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
    "tbl-air-stations": "air_quality_analysis",
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
    "fig-pm25-stations": "air_quality_analysis",
    "fig-pm25-its": "air_quality_analysis",
    "fig-pm25-official": "air_quality_analysis",
    "fig-policy-timeline": "policy_text_analysis",
    "fig-department-network": "policy_text_analysis",
    "fig-rule-graph": "reproducibility_appendix",
}


# ------------------------------------------------------------------------------------------
# Multiverse (issue 7; rules in workflow/rules/multiverse.smk, grid in config/multiverse.yaml)
# ------------------------------------------------------------------------------------------
from hazegov.robustness.multiverse import group_settings, job_groups

# The sample variants split into a few jobs; each job fits all their specifications.
MULTIVERSE_GROUPS = (
    job_groups(config["multiverse"], config["multiverse"]["jobs"])
    if STRANDS_ON["multiverse"]
    else {}
)
MULTIVERSE_CACHE = "results/cache/multiverse"


def multiverse_group_settings(wildcards):
    """What one multiverse job depends on: its variants' settings and their specifications'."""
    return group_settings(config, MULTIVERSE_GROUPS[wildcards.group])


ANALYSIS_VARIABLES.append("results/multiverse/variables.yml")
PAPER_TABLES.extend(["multiverse", "multiverse_by_choice"])
PAPER_FIGURES.append("specification_curve")
MADE_BY.update(
    {
        "tbl-multiverse": "multiverse_summary",
        "tbl-multiverse-by-choice": "multiverse_summary",
        "fig-specification-curve": "multiverse_summary",
    }
)


# ------------------------------------------------------------------------------------------
# Simulation (issue 7; rules in workflow/rules/simulation.smk, grid in config/simulation.yaml)
# ------------------------------------------------------------------------------------------
from hazegov.robustness.simulation_plan import (
    batch_replications,
    check_population_model_matches,
    check_simulation_sizes,
)

# the simulation strand's settings ({} when it is off and its config file left out)
SIMULATION = config.get("simulation", {})


def simulation_population_model():
    """The population model, a relative path read from the workflow's own directory."""
    path = Path(SIMULATION["population_model"])
    return str(path if path.is_absolute() else Path(workflow.basedir) / path)


if STRANDS_ON["simulation"]:
    check_simulation_sizes(SIMULATION["sizes"], simulation_population_model())
    # the model must describe the questionnaire in use, before any job starts; checked once,
    # by the run that plans the jobs (a cluster job parses this file again: 0.2 s each)
    if workflow.is_main_process:
        check_population_model_matches(
            simulation_population_model(), config["survey"]["codebook"]
        )


def sample_required_answers():
    """What every analysed respondent must have answered besides the scale items and the rating
    (analysis.missing_data.required, or else the regression's controls)."""
    analysis = config["analysis"]
    return list(analysis["missing_data"].get("required", analysis["regression"]["controls"]))


def simulation_settings():
    """The study's analysis choices that every replication repeats (nothing else, so that
    changing e.g. the number of bootstrap draws does not rerun the simulation)."""
    analysis = config["analysis"]
    settings = {
        "regression": analysis["regression"],
        "path_model": {
            "paths": analysis["path_model"]["paths"],
            "indirect": analysis["path_model"]["indirect"],
        },
        "missing_data": analysis["missing_data"],
        "exclusions": config["exclusions"],
        "out_of_range": config["survey"]["out_of_range"],
        "confidence": SIMULATION["confidence"],
        # a control dropped from the regression drops out of the type I error check too
        "null_effects": [
            t for t in SIMULATION["null_effects"] if t in analysis["regression"]["controls"]
        ],
    }
    # keys in a fixed order: a --configfile reorders the keys it overrides, which Snakemake
    # would take for changed params
    return json.loads(json.dumps(settings, sort_keys=True))


def simulation_truth_settings():
    """The choices the population targets and the large-draw check depend on: they analyse
    clean respondents, so not the exclusion rules nor the out-of-range rule (changing those
    does not rerun them)."""
    settings = simulation_settings()
    return {k: v for k, v in settings.items() if k not in ("exclusions", "out_of_range")}


def simulation_batches():
    """Every job's replications file: sizes x batches of batch_size replications."""
    total, size = SIMULATION["replications"], SIMULATION["batch_size"]
    return [
        f"results/simulation/replications/n{n}_b{batch}.parquet"
        for n in SIMULATION["sizes"]
        for batch in range(-(-total // size))
    ]


def simulation_batch_replications(wildcards):
    """The replication numbers of one job."""
    return batch_replications(
        SIMULATION["replications"], SIMULATION["batch_size"], int(wildcards.batch)
    )


ANALYSIS_VARIABLES.append("results/simulation/variables.yml")
PAPER_TABLES.append("simulation")
PAPER_FIGURES.append("simulation")
MADE_BY.update({"tbl-simulation": "simulation_summary", "fig-simulation": "simulation_summary"})


# The paper asks only for the parts of the strands switched on (the same lists, in the same
# order, with every strand on).
ANALYSIS_VARIABLES = without_strands_off("fragments", ANALYSIS_VARIABLES, STRANDS_ON)
PAPER_TABLES = without_strands_off("tables", PAPER_TABLES, STRANDS_ON)
PAPER_FIGURES = without_strands_off("figures", PAPER_FIGURES, STRANDS_ON)
MADE_BY = {
    label: rule
    for label, rule in MADE_BY.items()
    if label in without_strands_off("labels", [label], STRANDS_ON)
}
