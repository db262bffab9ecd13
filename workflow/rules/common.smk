# Config loading and validation, experiment discovery, path patterns, wildcard constraints and
# input/param functions. Everything a user can get wrong in a YAML file fails here, at DAG-build time.
import json
import os
import re
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

# workflow/scripts, found from this file (workflow.basedir is the deployment folder when used as a module)
SCRIPTS = Path(workflow.current_basedir).parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

from detexp.config import inherited_project_settings, sorted_dict
from detexp.resources import gpu_job_minutes
from detexp.validation import ConfigError
from detexp import layout, linked_runs
from detexp.code_record import CodeRecord
from detexp.content import stat_fingerprint, tree_fingerprint
from detexp.models import MODEL_VARIANTS
from detexp.demo import DEMO_ANNOTATIONS, DEMO_PROJECT_DIR, DEMO_VIDEOS
from detexp.runs import matched_baselines, resolved_run_config
from detexp.study import StudyError, load_study, project_sources, video_paths
from detexp.runs import training_settings as runs_training_settings
from detexp.weights import cache_path


def _fail(err, *inherited):
    """Stop at DAG-build time; name the bundled study's settings the problem may come from."""
    hints = "".join(f"\n  ({INHERITED[k]})" for k in inherited if k in INHERITED)
    sys.exit(f"Configuration error in {err}{hints}")


# The bundled study's settings a study config of the user's own leaves in place (only when the user
# gives config files and the workflow's own config/config.yaml was read too: not in a deployment).
_BUNDLED_CONFIG = (
    Path(workflow.current_basedir).parents[1] / layout.WORKFLOW_CONFIG
).resolve()
INHERITED = {}
if workflow.overwrite_configfiles and any(
    Path(f).resolve() == _BUNDLED_CONFIG for f in workflow.configfiles
):
    INHERITED = inherited_project_settings(
        workflow.config_settings.overwrite_config, config
    )
for _note in INHERITED.values():
    print(f"note: {_note}", file=sys.stderr)

try:
    STUDY = load_study(config)
except StudyError as err:
    _fail(err, *err.keys)
config.clear()
config.update(STUDY.config)
RUNS, EXPERIMENT_PAIRS, PAIRS = STUDY.runs, STUDY.experiment_pairs, STUDY.pairs
for _note in STUDY.notes:
    print(f"note: {_note}", file=sys.stderr)

CLASSES = config["classes"]
PROJECT_DIR = config["project_dir"]
ENV = "../../environment.yml"


# ---- path patterns: the workflow's contract, defined once in detexp/layout.py -----------------
RESULTS_DIR = layout.RESULTS_DIR
SPLITS_FILE = layout.SPLITS_FILE
SPLITS_HTML = layout.SPLITS_HTML
TRAINING_PLAN = layout.TRAINING_PLAN
PROJECT_VIDEOS_DIR = layout.PROJECT_VIDEOS_DIR
SPLIT_NAMES = list(layout.SPLIT_NAMES)
RESOLVED_CONFIG = layout.run_pattern(layout.RESOLVED_CONFIG)
DATASET_DIR = layout.run_pattern(layout.DATASET_DIR)
DATASET_SPLIT_ANNOTATIONS = layout.run_pattern(layout.DATASET_SPLIT_ANNOTATIONS)
TEST_ANNOTATIONS = DATASET_SPLIT_ANNOTATIONS.replace("{split}", "test")
DATASET_STATS = layout.run_pattern(layout.DATASET_STATS)
PUBLISHED_WEIGHTS = str(cache_path(config["weights_dir"], "{model}"))
CHECKPOINT = layout.run_pattern(layout.CHECKPOINT)
CLASS_INFO = layout.run_pattern(layout.CLASS_INFO)
TRAINING_METRICS = layout.run_pattern(layout.TRAINING_METRICS)
TRAINING_SUMMARY = layout.run_pattern(layout.TRAINING_SUMMARY)
TRAINING_STATE_DIR = layout.run_pattern(layout.TRAINING_STATE_DIR)
TRAINING_LOCK = layout.run_pattern(layout.TRAINING_LOCK)
TRAINING_LOG = layout.run_pattern(layout.TRAINING_LOG)
EVAL_METRICS = layout.run_pattern(layout.EVAL_METRICS)
EVAL_PREDICTIONS = layout.run_pattern(layout.EVAL_PREDICTIONS)
EVAL_ADJUSTED_METRICS = layout.run_pattern(layout.EVAL_ADJUSTED_METRICS)
CONFUSION_MATRIX = layout.run_pattern(layout.CONFUSION_MATRIX)
DETECTED_VIDEO = layout.run_pattern(layout.DETECTED_VIDEO)
DETECTIONS = layout.run_pattern(layout.DETECTIONS)
TRAINING_CURVES = layout.run_pattern(layout.TRAINING_CURVES)
SUMMARY = layout.run_pattern(layout.SUMMARY)
COMPARISON_CSV = layout.COMPARISON_CSV
COMPARISON_MD = layout.COMPARISON_MD
COMPARISON_HTML = layout.COMPARISON_HTML
COMPARISON_REPLICATES = layout.COMPARISON_REPLICATES
COMPARISON_STATS = layout.COMPARISON_STATS
COMPARISON_STATS_HTML = layout.COMPARISON_STATS_HTML
FINDINGS_MD = layout.FINDINGS_MD
FINDINGS_HTML = layout.FINDINGS_HTML
PLOT_AP_VS_FRACTION = layout.PLOT_AP_VS_FRACTION
PLOT_AP_VS_RATIO = layout.PLOT_AP_VS_RATIO
PLOT_TRAINING_CURVES = layout.PLOT_TRAINING_CURVES
PLOT_VIDEO_STRIP = layout.PLOT_VIDEO_STRIP
BENCHMARKS = layout.BENCHMARKS
COMPARE_PAIRS_BENCHMARK = layout.COMPARE_PAIRS_BENCHMARK


# ---- test videos ({video}: the file stem) and the project's annotation files ------------------
try:
    VIDEOS = video_paths(config["test_videos"], PROJECT_DIR, PROJECT_VIDEOS_DIR)
except StudyError as err:
    _fail(err, *err.keys)

# SLURM time limits of the GPU rules (minutes): one allocation per run fits gpu_allocation.time_limit_minutes.
try:
    GPU_MINUTES = gpu_job_minutes(config["gpu_allocation"], len(VIDEOS))
except ConfigError as err:
    _fail(err)

# `snakemake --lint` reads the rules, not a project: it runs without one (the bundled study's
# project_dir is a placeholder until a user points it at a labelled project).
LINTING = "--lint" in sys.argv

try:
    # what the split would refuse, said by the dry run (the annotations only: no image decoded)
    PROJECT_FORMAT, PROJECT_SOURCES = project_sources(
        config, VIDEOS, LINTING, check=workflow.is_main_process
    )
except StudyError as err:
    _fail(err, *err.keys)


wildcard_constraints:
    run="|".join(map(re.escape, RUNS)),
    video="|".join(map(re.escape, VIDEOS)) or "^$",
    split="|".join(SPLIT_NAMES),
    model="|".join(MODEL_VARIANTS),


# ---- input and param functions ------------------------------------------------------------------
# What each rule's code does, recorded where a study's results are: see detexp/code_record.py.
# code_versions.json: the record as runs before record_code_versions wrote it (at their start), read
# beneath the job's own: Snakemake never reruns a job for an output it has no record of making.
CODE_DIGESTS = f"{RESULTS_DIR}/code_digests.json"
CODE_RECORD = CodeRecord(SCRIPTS, [layout.CODE_VERSIONS, CODE_DIGESTS])


def code_version(script):
    """The code param of a rule: it changes when what the entry script or any project module it
    imports (transitively) does changes, not for a touch, a reformat, a comment, a docstring or a
    definition moved to another module (once recorded).
    """
    return CODE_RECORD.version(script)


def code_versions(wildcards):
    """The record as it is, with the versions of this run's jobs added."""
    return CODE_RECORD.updated()


def all_outputs():
    return [
        CODE_DIGESTS,
        FINDINGS_MD,
        FINDINGS_HTML,
        SPLITS_HTML,
        COMPARISON_CSV,
        COMPARISON_MD,
        COMPARISON_HTML,
        COMPARISON_REPLICATES,
        COMPARISON_STATS,
        COMPARISON_STATS_HTML,
        PLOT_AP_VS_FRACTION,
        PLOT_AP_VS_RATIO,
        PLOT_TRAINING_CURVES,
        *expand(PLOT_VIDEO_STRIP, video=VIDEOS),
        # Every run's own results too: Snakemake leaves a deleted file alone while what was made from it
        # is up to date, so a run's deleted training/ (the recovery the refusals name) would stay gone.
        *expand([TRAINING_SUMMARY, CHECKPOINT, EVAL_METRICS, SUMMARY], run=RUNS),
        *expand(DETECTIONS, run=RUNS, video=VIDEOS),
    ]


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


# ---- runs that share a training -------------------------------------------------------------------
def training_plan_runs(wildcards):
    """What decides each run's training digest, for the training_plan checkpoint."""
    return {
        rid: {
            "dataset_dir": DATASET_DIR.format(run=rid),
            "state_dir": TRAINING_STATE_DIR.format(run=rid),
            "training": training_settings(run),
            "seed": run.seed,
            "weights": pretrain_weights_file(rid),
        }
        for rid, run in RUNS.items()
    }


def planned_annotations(wildcards):
    """The training and validation splits of every run: what the training plan compares."""
    return expand(DATASET_SPLIT_ANNOTATIONS, run=RUNS, split=["train", "valid"])


def _training_summary(run):
    """A run's training summary as recorded, or None (none yet, or not readable)."""
    try:
        return json.loads(Path(TRAINING_SUMMARY.format(run=run)).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _training_plan():
    """The training_plan checkpoint's plan."""
    return json.loads(Path(checkpoints.training_plan.get().output[0]).read_text())


# A plan torn by a kill mid-write (versions before it was written whole) is never read half: removed
# before the DAG is built, it is made again by its job when a run needs it.
try:
    json.loads(Path(TRAINING_PLAN).read_text())
except FileNotFoundError:
    pass
except ValueError:
    print(
        f"note: {TRAINING_PLAN} is not valid JSON (a write cut short): it is made again",
        file=sys.stderr,
    )
    Path(TRAINING_PLAN).unlink()


def shared_training_source(run):
    """The run whose finished training this run links instead of training (None: it trains): see
    detexp.linked_runs."""
    return linked_runs.shared_training_source(
        run, RUNS, _training_summary, _training_plan
    )


def study_dir(wildcards):
    """The study's results folder, where a training looks for other runs' identical finished trainings."""
    return RESULTS_DIR


def shared_training(wildcards):
    """The training summary of the run whose training this run shares, as an input: its job then
    runs after that training ended, in an allocation of its own. Nothing for a run that trains.
    """
    source = shared_training_source(wildcards.run)
    return (
        {}
        if source is None
        else {"shared_training": TRAINING_SUMMARY.format(run=source)}
    )


# ---- what a linked run takes from the run whose training it holds (the link_* rules) -------------
def _job_params(rule, run):
    """The params a rule's job for `run` gets (on the first test video, for a rule per video)."""
    wildcards = SimpleNamespace(run=run, video=next(iter(VIDEOS), None))
    return {
        name: value(wildcards) if callable(value) else value
        for name, value in rule.params.items()
    }


def _jobs_key(run, *stages):
    """detexp.linked_runs.same_jobs_key of a run's data and training jobs and `stages` (rules)."""
    stages = (rules.prepare_dataset, rules.train, *stages)
    return linked_runs.same_jobs_key(
        [
            {name: v for name, v in _job_params(r, run).items() if name != "code"}
            for r in dict.fromkeys(stages)
        ],
        run,
    )


@lru_cache(maxsize=None)
def _training_roots():
    keys = {rid: _jobs_key(rid) for rid in RUNS}
    return linked_runs.training_roots(
        keys,
        _training_summary,
        lambda run: linked_runs.finished_is_current(TRAINING_STATE_DIR.format(run=run)),
    )


def reused_results(rule, what):
    """run -> the run whose `rule` results (train, evaluate, infer) it links in a local job: the same
    training foreseen, the same settings (see detexp.linked_runs.reused_results)."""
    if LINTING:
        return {}
    roots = _training_roots()
    # only runs that will hold a training with another run can reuse anything
    holders = Counter(roots.values())
    keys = {rid: _jobs_key(rid, rule) for rid in RUNS if holders[roots[rid]] > 1}
    reused = linked_runs.reused_results(keys, roots)
    if reused:
        shown = [f"{run} <- {source}" for run, source in sorted(reused.items())[:5]]
        more = f" and {len(reused) - 5} more" if len(reused) > 5 else ""
        pairs = ", ".join(shown) + more
        print(
            f"note: {what} linked where Snakemake runs (no GPU job), for runs that will hold "
            f"another run's training: {pairs}",
            file=sys.stderr,
        )
    return reused


def only_runs(runs):
    """A {run} wildcard constraint matching these runs only (none: nothing)."""
    return "|".join(map(re.escape, sorted(runs))) or "(?!)"


def reused_from(reused, **patterns):
    """Input function: the files (a pattern per name) of the run whose results this run reuses."""

    def inputs(wildcards):
        source = reused[wildcards.run]
        return {
            name: pattern.format(run=source, video=wildcards.get("video"))
            for name, pattern in patterns.items()
        }

    return inputs


def video_path(wildcards):
    return str(VIDEOS[wildcards.video])


def dataset_dir(wildcards):
    """The run's dataset folder (layout.DATASET_DIR): the split folders the rule's annotations lie in."""
    return DATASET_DIR.format(run=wildcards.run)


def run_fractions(wildcards):
    return sorted_dict(RUNS[wildcards.run].experiment.fractions_for(CLASSES))


def run_frame_sampling(wildcards):
    return RUNS[wildcards.run].experiment.sampling_mode(config)


def run_background_fraction(wildcards):
    return RUNS[wildcards.run].experiment.background_fraction


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
    """A run's training settings (see detexp.runs.training_settings)."""
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
    """A param function giving one `inference` setting of the run (it may be swept)."""

    def setting(wildcards):
        return RUNS[wildcards.run].config["inference"][name]

    return setting


def run_config(wildcards):
    return sorted_dict(resolved_run_config(RUNS[wildcards.run]))


def run_detections(wildcards):
    return expand(DETECTIONS, run=wildcards.run, video=VIDEOS)


def run_summaries(wildcards):
    return expand(SUMMARY, run=RUNS)


# Every run in a compared pair; compare_pairs gets their ids as a param, in the order of its inputs.
COMPARED_RUNS = sorted({rid for pair in PAIRS for rid in pair})


# With replicates, each compared run's experiment at its sweep point: the two-level bootstrap's groups.
REPLICATE_GROUPS = (
    {rid: RUNS[rid].point for rid in COMPARED_RUNS} if config["replicates"] > 1 else {}
)


def compared_predictions(wildcards):
    """The test-split predictions of every run in a compared pair (in COMPARED_RUNS order)."""
    return [EVAL_PREDICTIONS.format(run=rid) for rid in COMPARED_RUNS]


def compared_training_summaries(wildcards):
    """The training summaries of every run in a compared pair (in COMPARED_RUNS order): their training
    digests say which pairs trained on identical inputs."""
    return [TRAINING_SUMMARY.format(run=rid) for rid in COMPARED_RUNS]


def warning_logs(wildcards):
    """The logs of the jobs that write `warning:` lines (data, sampling, training reuse), each rule's
    own log pattern: findings.md opens with what they say."""
    per_run = [rules.prepare_dataset, rules.train, rules.evaluate]
    # plain strings: a rule's log item refers to its rule, which a script's params cannot carry
    return [
        str(rules.split_dataset.log[0]),
        str(rules.training_plan.log[0]),
        *(log for rule in per_run for log in expand(str(rule.log[0]), run=RUNS)),
    ]


def shared_test_split(wildcards):
    """The test split is the study's: any run's copy of it will do (the first run's)."""
    return TEST_ANNOTATIONS.format(run=next(iter(RUNS)))


def run_training_metrics(wildcards):
    return expand(TRAINING_METRICS, run=RUNS)


# A video strip shows one row per run, so it stays readable: replicate 0 only, at most this many.
STRIP_MAX_ROWS = 12
# Rows in the order of the comparison table: by the sampled fractions, then by name.
STRIP_RUNS = sorted(
    (rid for rid, run in RUNS.items() if run.replicate == 0),
    key=lambda rid: (
        tuple(RUNS[rid].experiment.fractions_for(CLASSES).values()),
        RUNS[rid].experiment.name,
        rid,
    ),
)[:STRIP_MAX_ROWS]


def video_of_every_run(wildcards):
    return expand(DETECTED_VIDEO, run=STRIP_RUNS, video=wildcards.video)


def run_benchmarks(wildcards):
    """The benchmark files of one experiment's jobs, named by job. Read if present, not declared
    as inputs: a deleted benchmark file must never rerun a training. A packed run's GPU jobs are its
    pack's one job (packs.smk), named so: not an earlier unpacked job's file."""
    pack = PACK_OF.get(wildcards.run)
    if pack is not None:
        return {
            "prepare_dataset": BENCHMARKS["prepare_dataset"].format(run=wildcards.run),
            f"{pack} (train, evaluate and infer of {len(PACKS[pack])} runs)": f"benchmarks/packs/{pack}.tsv",
        }
    paths = {
        job: pattern.format(run=wildcards.run)
        for job, pattern in BENCHMARKS.items()
        if "{video}" not in pattern
    }
    paths.update(
        {
            f"infer {video}": BENCHMARKS["infer"].format(run=wildcards.run, video=video)
            for video in VIDEOS
        }
    )
    return paths
