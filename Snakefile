# Beijing haze (PM2.5) governance study: raw questionnaire export -> cleaned data -> paper.
import os

from snakemake.utils import min_version

from hazegov.build_lock import release_stale_lock
from hazegov.config_check import check_config, fill_schema_defaults

min_version("9.0")

STRAND_CONFIG_FILES = (
    "config/air_quality.yaml",
    "config/policies.yaml",
    "config/multiverse.yaml",
    "config/simulation.yaml",
)


configfile: "config/config.yaml"


# The strands' settings; a study whose config.yaml switches a strand off may leave its file out
# (the schema requires the settings of the strands that are on).
for strand_config in STRAND_CONFIG_FILES:
    if os.path.exists(strand_config):

        configfile: strand_config



for note in check_config(
    config,
    workflow.configfiles,
    f"{workflow.basedir}/workflow/schemas/config.schema.yaml",
    overrides=workflow.overwrite_configfiles,
):
    if workflow.is_main_process:
        logger.info(note)
# the schema's defaults, as snakemake.utils.validate would set them after the check above
fill_schema_defaults(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")

# A build killed outright leaves its lock; the next run removes it once its owner is surely gone.
if workflow.is_main_process and (stale_lock := release_stale_lock()):
    logger.warning(stale_lock)


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/clean.smk"
include: "workflow/rules/describe.smk"
include: "workflow/rules/measurement.smk"
include: "workflow/rules/explanatory.smk"
# The strands switched off in config["strands"] have no rules at all (workflow/rules/common.smk).
if STRANDS_ON["air_quality"]:

    include: "workflow/rules/air.smk"


if STRANDS_ON["policy"]:

    include: "workflow/rules/policy.smk"


if STRANDS_ON["multiverse"]:

    include: "workflow/rules/multiverse.smk"


if STRANDS_ON["simulation"]:

    include: "workflow/rules/simulation.smk"


include: "workflow/rules/paper.smk"
include: "workflow/rules/privacy.smk"
# The generic results report (`snakemake results_report`); not part of `rule all`.
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),
        "results/privacy/identifier_scan.json",
        "results/privacy/disclosure_check.json",
    default_target: True
