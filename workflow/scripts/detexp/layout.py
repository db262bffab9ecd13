"""Where the workflow writes what: the one definition of every output path.

Snakemake's rules (common.smk) build their path patterns from these, and collect_results.py (the
command-line tool) reads finished and partial runs with the same names.
"""

from __future__ import annotations

from pathlib import Path

# The workflow's own config file (the Snakefile's configfile), relative to the working folder: the
# bundled study's settings in this repository, the user's in a deployment.
WORKFLOW_CONFIG = "config/config.yaml"

# A labelled project's test videos, inside its project_dir (config test_videos names files there).
PROJECT_VIDEOS_DIR = "videos"

RESULTS_DIR = "results"
RUN_DIR = RESULTS_DIR + "/{run}"

# Files of one run (an experiment at one sweep point and replicate), relative to its folder results/<run>/.
RESOLVED_CONFIG = "config.yaml"
# The COCO file of each split folder: the name RF-DETR reads (and Roboflow exports write).
SPLIT_ANNOTATIONS_NAME = "_annotations.coco.json"
DATASET_DIR = "dataset"
DATASET_SPLIT_ANNOTATIONS = DATASET_DIR + "/{split}/" + SPLIT_ANNOTATIONS_NAME
DATASET_STATS = "dataset_stats.json"
CHECKPOINT = "training/checkpoint_best_total.pth"
CLASS_INFO = "training/class_info.json"
TRAINING_METRICS = "training/metrics.csv"
TRAINING_SUMMARY = "training/training_summary.json"
# rfdetr's working folder (resume state; a finished training's files, which the outputs link to) and
# the lock a training holds while it runs: not outputs, kept when Snakemake deletes a failed job's.
TRAINING_STATE_DIR = "training/state"
TRAINING_LOCK = "training/training.lock"
# The log of the training that holds the lock, kept whole beside it: the job's log file hard-linked
# (Snakemake deletes a job's log before a second start of the job, e.g. from a --nolock run).
TRAINING_LOG = "training/training.log"
TRAINING_STATE_METRICS = TRAINING_STATE_DIR + "/metrics.csv"  # grows during training, before the outputs exist
EVAL_METRICS = "evaluation/metrics.json"
EVAL_PREDICTIONS = "evaluation/predictions.json"
# The same predictions scored after post-hoc logit adjustment (evaluation.logit_adjustment).
EVAL_ADJUSTED_METRICS = "evaluation/logit_adjusted/metrics.json"
CONFUSION_MATRIX = "evaluation/confusion_matrix.png"
DETECTED_VIDEO = "inference/detected_{video}.mp4"
DETECTIONS = "inference/{video}_detections.json"
DETECTIONS_SUFFIX = "_detections.json"
TRAINING_CURVES = "training_curves.png"
SUMMARY = "experiment_summary.json"

# The splits, in this order: the dataset's folders (dataset/<split>/) and the keys of SPLITS_FILE.
SPLIT_NAMES = ("train", "valid", "test")

# Study-wide files, relative to the working directory.
SPLITS_FILE = RESULTS_DIR + "/splits.json"
SPLITS_HTML = RESULTS_DIR + "/splits.html"  # frames and clips per split, for the report
# Which runs train on identical inputs and so share one training (a Snakemake checkpoint's output).
TRAINING_PLAN = RESULTS_DIR + "/training_plan.json"
# Per entry script, the code param its jobs ran with, by behaviour digest (written by common.smk).
CODE_VERSIONS = RESULTS_DIR + "/code_versions.json"
COMPARISON_CSV = RESULTS_DIR + "/comparison.csv"
COMPARISON_MD = RESULTS_DIR + "/comparison.md"
COMPARISON_HTML = RESULTS_DIR + "/comparison.html"
COMPARISON_REPLICATES = RESULTS_DIR + "/comparison_replicates.csv"
COMPARISON_STATS = RESULTS_DIR + "/comparison_stats.csv"
COMPARISON_STATS_HTML = RESULTS_DIR + "/comparison_stats.html"
FINDINGS_MD = RESULTS_DIR + "/findings.md"  # the answer in plain sentences
FINDINGS_HTML = RESULTS_DIR + "/findings.html"
PLOTS_DIR = RESULTS_DIR + "/plots"
PLOT_AP_VS_FRACTION = PLOTS_DIR + "/ap_vs_fraction.png"
PLOT_AP_VS_RATIO = PLOTS_DIR + "/ap_vs_ratio.png"
PLOT_TRAINING_CURVES = PLOTS_DIR + "/training_curves.png"
PLOT_VIDEO_STRIP = PLOTS_DIR + "/strip_{video}.png"

# Snakemake benchmark files (runtime and memory of each job of a run), relative to the working directory.
BENCHMARKS = {
    "prepare_dataset": "benchmarks/prepare_dataset/{run}.tsv",
    "train": "benchmarks/train/{run}.tsv",
    "evaluate": "benchmarks/evaluate/{run}.tsv",
    "infer": "benchmarks/infer/{run}/{video}.tsv",
}
COMPARE_PAIRS_BENCHMARK = "benchmarks/compare_pairs.tsv"  # one per study


def run_pattern(relative: str) -> str:
    """A Snakemake path pattern (with the {run} wildcard) for a file of one run."""
    return f"{RUN_DIR}/{relative}"


def run_file(results_dir: str | Path, run: str, relative: str) -> Path:
    """The path of one run's file under an existing results folder."""
    return Path(results_dir) / run / relative


def run_of(path: str | Path, relative: str) -> str:
    """The run id of a run's file, given which file it is (`relative`, e.g. TRAINING_SUMMARY)."""
    return Path(path).parents[len(Path(relative).parts) - 1].name
