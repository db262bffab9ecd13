# Config loading and validation, experiment discovery, path patterns, wildcard constraints and
# input/param functions. Everything a user can get wrong in a YAML file fails here, at DAG-build time.
import re
import sys
from pathlib import Path

SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))

from detexp.config import (
    MODEL_VARIANTS,
    ConfigError,
    code_digest,
    load_experiments,
    resolved_experiment_config,
    sorted_dict,
    validate_config,
)
from detexp.dataset import DatasetError, detect_format, project_sources
from detexp.demo import DEMO_PROJECT_DIR, DEMO_VIDEOS
from detexp.weights import cache_path


def _fail(err):
    sys.exit(f"Configuration error in {err}")


try:
    _validated = validate_config(config)
    config.clear()
    config.update(_validated)
    EXPERIMENTS = load_experiments(config)
except ConfigError as err:
    _fail(err)

CLASSES = config["classes"]
PROJECT_DIR = config["project_dir"]
ENV = "../../environment.yml"


# ---- path patterns: the workflow's contract, defined once --------------------------------------
SPLITS = "results/splits.json"
RESOLVED_CONFIG = "results/{experiment}/config.yaml"
DATASET_SPLIT_ANNOTATIONS = (
    "results/{experiment}/dataset/{split}/_annotations.coco.json"
)
TEST_ANNOTATIONS = DATASET_SPLIT_ANNOTATIONS.replace("{split}", "test")
DATASET_STATS = "results/{experiment}/dataset_stats.json"
PUBLISHED_WEIGHTS = str(cache_path(config["weights_dir"], "{model}"))
CHECKPOINT = "results/{experiment}/training/checkpoint_best_total.pth"
CLASS_INFO = "results/{experiment}/training/class_info.json"
TRAINING_METRICS = "results/{experiment}/training/metrics.csv"
TRAINING_SUMMARY = "results/{experiment}/training/training_summary.json"
EVAL_METRICS = "results/{experiment}/evaluation/metrics.json"
EVAL_PREDICTIONS = "results/{experiment}/evaluation/predictions.json"
CONFUSION_MATRIX = "results/{experiment}/evaluation/confusion_matrix.png"
DETECTED_VIDEO = "results/{experiment}/inference/detected_{video}.mp4"
DETECTIONS = "results/{experiment}/inference/{video}_detections.json"
SUMMARY = "results/{experiment}/experiment_summary.json"
COMPARISON_CSV = "results/comparison.csv"
COMPARISON_MD = "results/comparison.md"


# ---- test videos: wildcard value = file stem ---------------------------------------------------
def _video_paths():
    paths = {}
    for entry in config["test_videos"]:
        path = (
            Path(entry)
            if Path(entry).is_absolute()
            else Path(PROJECT_DIR) / "videos" / entry
        )
        stem = path.stem
        if stem in paths:
            _fail(
                f"the workflow config: test_videos: {entry!r} and {str(paths[stem])!r} share the name "
                f"{stem!r} - output names come from the file stem, so it must be unique"
            )
        paths[stem] = path
    return paths


VIDEOS = _video_paths()

if PROJECT_DIR == DEMO_PROJECT_DIR:
    PROJECT_FORMAT = "coco"
    PROJECT_SOURCES = [f"{DEMO_PROJECT_DIR}/_annotations.coco.json"]
else:
    if not Path(PROJECT_DIR).is_dir():
        _fail(
            f"the workflow config: project_dir: {PROJECT_DIR} does not exist or is not a folder - point it "
            "at your labelled project (--config project_dir=...), or run the bundled demo with "
            "--configfile config/demo.yaml"
        )
    for _stem, _path in VIDEOS.items():
        if not _path.is_file():
            _fail(f"the workflow config: test_videos: {_path} not found")
    try:
        PROJECT_FORMAT = config["project_format"]
        if PROJECT_FORMAT == "auto":
            PROJECT_FORMAT = detect_format(PROJECT_DIR, config["annotations_file"])
        PROJECT_SOURCES = project_sources(
            PROJECT_DIR, PROJECT_FORMAT, config["annotations_file"]
        )
    except DatasetError as err:
        _fail(f"project_dir: {err}")


wildcard_constraints:
    experiment="|".join(map(re.escape, EXPERIMENTS)),
    video="|".join(map(re.escape, VIDEOS)) or "^$",
    split="train|valid|test",
    model="|".join(MODEL_VARIANTS),


# ---- input and param functions ------------------------------------------------------------------
def code_version(*names):
    """Content digest of entry scripts / core modules, so that only real code changes rerun jobs."""
    return code_digest(SCRIPTS / name for name in names)


def all_outputs():
    return [COMPARISON_CSV, COMPARISON_MD]


def project_dir(wildcards):
    return PROJECT_DIR


def dataset_dir(wildcards, input):
    """results/<experiment>/dataset, from the train split's annotation file."""
    return str(Path(input.annotations[0]).parents[1])


def dataset_out_dir(wildcards, output):
    return str(Path(output.annotations[0]).parents[1])


def pretrain_weights(wildcards):
    """The checkpoint training starts from, as an input: the fetched published one for `auto`
    (ancient: its content is fixed by its checksum, so a re-fetch never reruns a training).
    """
    source = config["training"]["pretrain_weights"]
    if source is None:
        return []
    if source == "auto":
        return ancient(PUBLISHED_WEIGHTS.format(model=config["training"]["model"]))
    return source


def training_dir(wildcards, output):
    return str(Path(output.checkpoint).parent)


def video_path(wildcards):
    return str(VIDEOS[wildcards.video])


def experiment_fractions(wildcards):
    return sorted_dict(EXPERIMENTS[wildcards.experiment].fractions_for(CLASSES))


def experiment_background_fraction(wildcards):
    return EXPERIMENTS[wildcards.experiment].background_fraction


def experiment_config(wildcards):
    return sorted_dict(
        resolved_experiment_config(config, EXPERIMENTS[wildcards.experiment])
    )


def experiment_detections(wildcards):
    return expand(DETECTIONS, experiment=wildcards.experiment, video=VIDEOS)


def experiment_summaries(wildcards):
    return expand(SUMMARY, experiment=EXPERIMENTS)


# Cheap bookkeeping jobs run where Snakemake runs instead of waiting for a queue slot.
localrules:
    fetch_weights,
    make_demo_project,
    split_dataset,
    resolve_config,
    summarize,
    aggregate,
