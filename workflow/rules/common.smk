import json
import os
import re
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from hazegov.policy.register import register_text_files
from hazegov.strands import (
    enabled_strands,
    paper_blocked_message,
    paper_blockers,
    paper_for_strands,
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
    return [f"{PAPER_BUILD_DIR}/_variables.yml", *paper_tables(), *paper_figures()]


# ------------------------------------------------------------------------------------------
# What the paper collects, read from the rules themselves: a rule declares a table of the paper
# by an output results/paper/tables/NAME.md, a figure by an output results/paper/figures/NAME.png
# and its numbers by an output named `variables` (a fragment of the paper's _variables.yml).
# A strand switched off has no rules, so its parts are not asked for. Called once every rule is
# defined (from input and params functions, and by the rules included after paper.smk).
# ------------------------------------------------------------------------------------------
# The package function behind each rule, which workflow/scripts/run_stage.py runs and the
# captions link
STAGES = yaml.safe_load((Path(workflow.basedir) / "workflow/stages.yaml").read_text("utf-8"))
PAPER_TABLE_RE = re.compile(rf"{re.escape(PAPER_BUILD_DIR)}/tables/(?P<name>[^/]+)\.md")
PAPER_FIGURE_RE = re.compile(rf"{re.escape(PAPER_BUILD_DIR)}/figures/(?P<name>[^/]+)\.png")
# the label a figure has in the paper: ![caption](figures/NAME.png){#fig-LABEL ...}
FIGURE_LABEL_RE = re.compile(r"\]\(figures/(?P<name>[^)\s]+)\.png\)\{#(?P<label>fig-[\w-]+)")


def rule_outputs():
    """(rule name, output name or None, path) of every rule's outputs, in the order of the
    rules."""
    for each in workflow.rules:
        names = {str(path): name for name, path in each.output.items() if isinstance(path, str)}
        for path in each.output:
            yield each.name, names.get(str(path)), str(path)


def paper_tables():
    """The Markdown tables of the paper, results/paper/tables/*.md."""
    return [path for _, _, path in rule_outputs() if PAPER_TABLE_RE.fullmatch(path)]


def paper_figures():
    """The figures of the paper, results/paper/figures/*.png."""
    return [path for _, _, path in rule_outputs() if PAPER_FIGURE_RE.fullmatch(path)]


def fragment_rules():
    """The variables fragments the paper's _variables.yml merges, each with the rule that
    writes it: every output named `variables` but the merged files themselves (the
    _variables.yml of the paper and of the results report)."""
    return {
        path: rule_name
        for rule_name, name, path in rule_outputs()
        if name == "variables" and os.path.basename(path) != "_variables.yml"
    }


def analysis_variables():
    """The variables fragments (fragment_rules), in the order of the rules."""
    return list(fragment_rules())


def figure_labels():
    """Each figure's cross-reference label in the paper's sources (figure name -> label)."""
    labels = {}
    for source in paper_sources():
        if source.endswith(".qmd"):
            text = (PAPER_SOURCE_DIR / source).read_text(encoding="utf-8")
            labels |= {m["name"]: m["label"] for m in FIGURE_LABEL_RE.finditer(text)}
    return labels


def made_by():
    """Label of each table and figure of the paper -> the rule that makes it and the package
    function that computes it (workflow/stages.yaml; the captions name both). A table's label
    is tbl-NAME; a figure's is the one the paper gives it (fig-NAME if the paper shows none)."""
    labels = figure_labels()
    found = {}
    for rule_name, _, path in rule_outputs():
        if table := PAPER_TABLE_RE.fullmatch(path):
            label = f"tbl-{table['name']}".replace("_", "-")
        elif figure := PAPER_FIGURE_RE.fullmatch(path):
            label = labels.get(figure["name"], f"fig-{figure['name']}".replace("_", "-"))
        else:
            continue
        found[label] = {"rule": rule_name, "function": STAGES.get(rule_name)}
    return found


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



