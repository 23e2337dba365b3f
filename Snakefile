# Beijing haze (PM2.5) governance study: raw questionnaire export -> cleaned data -> paper.
from snakemake.utils import min_version, validate

from hazegov.config_check import check_config

min_version("9.0")


configfile: "config/config.yaml"
configfile: "config/air_quality.yaml"
configfile: "config/policies.yaml"


check_config(
    config,
    workflow.configfiles,
    "workflow/schemas/config.schema.yaml",
    overrides=workflow.overwrite_configfiles,
)
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/clean.smk"
include: "workflow/rules/describe.smk"
include: "workflow/rules/measurement.smk"
include: "workflow/rules/explanatory.smk"
include: "workflow/rules/air.smk"
include: "workflow/rules/policy.smk"
include: "workflow/rules/paper.smk"


rule all:
    input:
        paper_outputs(),
        "results/processed/analysis.sav",
        "results/processed/data_dictionary.csv",
        "results/analysis/cfa/residual_correlations.csv",
    default_target: True
