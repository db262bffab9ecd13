# Input and param functions of a run's jobs (dataset, training, evaluation, inference): lookups of the
# run's settings (detexp.study.runs) and its files (the path patterns of common.smk).
import os
from functools import lru_cache

from detexp.content import stat_fingerprint, tree_fingerprint
from detexp.study.runs import matched_baselines, resolved_run_config
from detexp.study.runs import training_settings as runs_training_settings


def per_run(value_of):
    """A param of a run's jobs, `value_of(run)`: the value itself where every run has the same one
    (Snakemake records the same value, and calls no function for each job), else a function giving the
    job's run's. A string with braces is always a function: Snakemake would format it with wildcards.
    """
    values = {run_id: value_of(run) for run_id, run in RUNS.items()}
    first = next(iter(values.values()), None)
    uniform = all(value == first for value in values.values())
    if uniform and not (isinstance(first, str) and ("{" in first or "}" in first)):
        return first
    return lambda wildcards: values[wildcards.run]


# Post-hoc logit adjustment of the test predictions ({tau}), or None.
LOGIT_ADJUSTMENT = config["evaluation"]["logit_adjustment"]


def confusion_matrix_output(path, run="{run}"):
    """A run's confusion matrix, in the report under the run."""
    return report(
        path,
        caption="../report/confusion_matrix.rst",
        category="Experiments",
        subcategory=run,
        labels={"run": run, "figure": "confusion matrix"},
    )


def run_adjusted_metrics(wildcards):
    """The run's logit-adjusted test metrics where evaluation.logit_adjustment is set (else none)."""
    return (
        []
        if LOGIT_ADJUSTMENT is None
        else [EVAL_ADJUSTED_METRICS.format(run=wildcards.run)]
    )


# The tau of the logit adjustment applied in video inference too, or None (the model's own scores).
INFERENCE_LOGIT_TAU = (
    LOGIT_ADJUSTMENT["tau"]
    if LOGIT_ADJUSTMENT is not None and LOGIT_ADJUSTMENT["apply_in_inference"]
    else None
)


def inference_priors(wildcards):
    """The run's dataset stats (its training priors) where inference is logit-adjusted (else none)."""
    return (
        [] if INFERENCE_LOGIT_TAU is None else [DATASET_STATS.format(run=wildcards.run)]
    )


def project_dir(wildcards):
    """The project folder, as a function: a plain string param is formatted with the job's wildcards,
    which a folder name with braces in it would break."""
    return PROJECT_DIR


@lru_cache(maxsize=None)
def _project_files():
    # the workflow's own folders, where a project lies in the working folder itself
    own = [RESULTS_DIR, "logs", "benchmarks"]
    return tree_fingerprint(
        PROJECT_DIR, skip=(PROJECT_VIDEOS_DIR, *(os.path.abspath(f) for f in own))
    )


def project_files(wildcards):
    """The project's files (images, labels) by name, size and modification time, not content: an image
    replaced or restored with an older time reruns the dataset jobs, which Snakemake's own triggers miss
    (the images are not inputs). The demo project is made by a rule (its time says when).
    """
    return None if PROJECT_DIR == DEMO_PROJECT_DIR else _project_files()


def video_file(wildcards):
    """The test video by name, size and modification time (a file restored with an older time too)."""
    return stat_fingerprint([VIDEOS[wildcards.video]])


def pretrain_weights_file(run):
    """The local checkpoint a run's training starts from (the fetched published one for `auto`), or None."""
    training = RUNS[run].config["training"]
    source = training["pretrain_weights"]
    if source == "auto":
        return PUBLISHED_WEIGHTS.format(model=training["model"])
    return source


def pretrain_weights(wildcards):
    """The checkpoint training starts from, as an input: the fetched published one for `auto`
    (ancient: its content is fixed by its checksum, so a re-fetch never reruns a training).
    """
    path = pretrain_weights_file(wildcards.run)
    if path is None:
        return []
    if RUNS[wildcards.run].config["training"]["pretrain_weights"] == "auto":
        return ancient(path)
    return path


def video_path(wildcards):
    return str(VIDEOS[wildcards.video])


def dataset_dir(wildcards):
    """The run's dataset folder (layout.DATASET_DIR): the split folders the rule's annotations lie in."""
    return DATASET_DIR.format(run=wildcards.run)


def run_fractions(wildcards):
    return sorted_dict(RUNS[wildcards.run].experiment.fractions_for(CLASSES))


run_frame_sampling = per_run(lambda run: run.experiment.sampling_mode(config))
run_background_fraction = per_run(lambda run: run.experiment.background_fraction)


def run_remedies(wildcards):
    """Oversampling and repeat-factor settings of the run's experiment."""
    experiment = RUNS[wildcards.run].experiment
    return sorted_dict(
        {"oversample": experiment.oversample, "repeat_factor": experiment.repeat_factor}
    )


def run_seed(wildcards):
    """The run's seed: the study's, plus the replicate number."""
    return RUNS[wildcards.run].seed


# Remedied runs that train at their baseline's images seen (training.match_images_seen): run -> baseline run.
MATCHED_BASELINES = matched_baselines(RUNS, PAIRS)


def training_settings(run):
    """A run's training settings (see detexp.study.runs.training_settings)."""
    return runs_training_settings(run, RUNS, MATCHED_BASELINES, DATASET_DIR)


def run_gpus(run_id):
    """The GPUs a run trains on (training.gpus)."""
    return RUNS[run_id].config["training"]["gpus"]


def train_gpus(wildcards):
    return run_gpus(wildcards.run)


def train_threads(wildcards):
    """The CPU cores a training asks for: gpu_allocation.cpus_per_gpu per GPU."""
    return config["gpu_allocation"]["cpus_per_gpu"] * run_gpus(wildcards.run)


def matched_baseline_training_set(wildcards):
    """The baseline's training split, for a run matched to its images seen (else none)."""
    baseline = MATCHED_BASELINES.get(wildcards.run)
    return (
        []
        if baseline is None
        else [DATASET_SPLIT_ANNOTATIONS.format(run=baseline, split="train")]
    )


def run_training(wildcards):
    return training_settings(RUNS[wildcards.run])


def run_inference_setting(name):
    """A param giving one `inference` setting of the run (it may be swept): see per_run."""
    return per_run(lambda run: run.config["inference"][name])


def run_config(wildcards):
    return sorted_dict(resolved_run_config(RUNS[wildcards.run]))


def run_detections(wildcards):
    return expand(DETECTIONS, run=wildcards.run, video=VIDEOS)
