# Input functions of the study's jobs after the runs (summaries, the comparison, findings, plots).
from detexp.study.packs import run_benchmarks as packed_run_benchmarks
from detexp.study.runs import strip_runs


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


# The runs each test video's strip shows, one row each (replicate 0, at most 12).
STRIP_RUNS = strip_runs(RUNS, CLASSES)


def video_of_every_run(wildcards):
    return expand(DETECTED_VIDEO, run=STRIP_RUNS, video=wildcards.video)


def run_benchmarks(wildcards):
    """The benchmark files of the run's jobs, named by job. Read if present, not declared as inputs:
    a deleted benchmark file must never rerun a training."""
    pack = PACK_OF.get(wildcards.run)
    return packed_run_benchmarks(
        wildcards.run, list(VIDEOS), pack, len(PACKS.get(pack, ()))
    )
