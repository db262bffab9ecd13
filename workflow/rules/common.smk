# The study: its config loaded and checked, its runs and test videos, the path patterns, the wildcard
# constraints, the code record and the workflow's targets. Everything a user can get wrong in a YAML
# file fails here, at DAG-build time. Input and param functions: run_functions.smk (a run's jobs),
# linked_functions.smk (shared trainings), report_functions.smk (the study's jobs after its runs).
import sys
from pathlib import Path

# workflow/scripts, found from this file (workflow.basedir is the deployment folder when used as a module)
SCRIPTS = Path(workflow.current_basedir).parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

from detexp.study.config import inherited_project_settings, sorted_dict
from detexp.study.resources import gpu_job_minutes
from detexp.study.runs import name_pattern
from detexp.study.validation import ConfigError
from detexp import layout
from detexp.code_record import CodeRecord
from detexp.study.models import MODEL_VARIANTS
from detexp.data.demo import DEMO_ANNOTATIONS, DEMO_PROJECT_DIR, DEMO_VIDEOS
from detexp.study.load import StudyError, load_study, project_sources, video_paths
from detexp.study.weights import cache_path


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
    run=name_pattern(RUNS),
    video=name_pattern(VIDEOS) or "^$",
    split="|".join(SPLIT_NAMES),
    model="|".join(MODEL_VARIANTS),


# ---- the code record and the workflow's targets -------------------------------------------------
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
