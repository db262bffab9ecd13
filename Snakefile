from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/run_functions.smk"
include: "workflow/rules/linked_functions.smk"
include: "workflow/rules/report_functions.smk"
include: "workflow/rules/code_versions.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/pack_functions.smk"
include: "workflow/rules/packs.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/plots.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
