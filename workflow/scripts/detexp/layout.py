"""Where the workflow writes what: the one definition of every output path.

Snakemake's rules (common.smk) build their path patterns from these, and the command-line tools
(summarize, collect_results) read finished and partial runs with the same names.
"""

from __future__ import annotations

from pathlib import Path

RESULTS_DIR = "results"
EXPERIMENT_DIR = RESULTS_DIR + "/{experiment}"

# Files of one experiment, relative to its folder results/<experiment>/.
RESOLVED_CONFIG = "config.yaml"
DATASET_SPLIT_ANNOTATIONS = "dataset/{split}/_annotations.coco.json"
DATASET_STATS = "dataset_stats.json"
CHECKPOINT = "training/checkpoint_best_total.pth"
CLASS_INFO = "training/class_info.json"
TRAINING_METRICS = "training/metrics.csv"
TRAINING_SUMMARY = "training/training_summary.json"
TRAINING_STATE_METRICS = "training/state/metrics.csv"  # grows during training, before the outputs exist
EVAL_METRICS = "evaluation/metrics.json"
EVAL_PREDICTIONS = "evaluation/predictions.json"
CONFUSION_MATRIX = "evaluation/confusion_matrix.png"
DETECTED_VIDEO = "inference/detected_{video}.mp4"
DETECTIONS = "inference/{video}_detections.json"
DETECTIONS_SUFFIX = "_detections.json"
TRAINING_CURVES = "training_curves.png"
SUMMARY = "experiment_summary.json"

# Study-wide files, relative to the working directory.
SPLITS = RESULTS_DIR + "/splits.json"
COMPARISON_CSV = RESULTS_DIR + "/comparison.csv"
COMPARISON_MD = RESULTS_DIR + "/comparison.md"
COMPARISON_HTML = RESULTS_DIR + "/comparison.html"
COMPARISON_REPLICATES = RESULTS_DIR + "/comparison_replicates.csv"
COMPARISON_STATS = RESULTS_DIR + "/comparison_stats.csv"
COMPARISON_STATS_HTML = RESULTS_DIR + "/comparison_stats.html"
PLOTS_DIR = RESULTS_DIR + "/plots"
PLOT_AP_VS_FRACTION = PLOTS_DIR + "/ap_vs_fraction.png"
PLOT_AP_VS_RATIO = PLOTS_DIR + "/ap_vs_ratio.png"
PLOT_TRAINING_CURVES = PLOTS_DIR + "/training_curves.png"
PLOT_VIDEO_STRIP = PLOTS_DIR + "/strip_{video}.png"

# Snakemake benchmark files (runtime and memory of each job), relative to the working directory.
BENCHMARKS = {
    "prepare_dataset": "benchmarks/prepare_dataset/{experiment}.tsv",
    "train": "benchmarks/train/{experiment}.tsv",
    "evaluate": "benchmarks/evaluate/{experiment}.tsv",
    "infer": "benchmarks/infer/{experiment}/{video}.tsv",
}


def experiment_pattern(relative: str) -> str:
    """A Snakemake path pattern (with {experiment}) for a file of one experiment."""
    return f"{EXPERIMENT_DIR}/{relative}"


def experiment_file(results_dir: str | Path, experiment: str, relative: str) -> Path:
    """The path of one experiment's file under an existing results folder."""
    return Path(results_dir) / experiment / relative
