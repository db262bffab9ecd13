# Runs that share a training, and what a run that holds another run's training links (the
# training_plan checkpoint, the link_* rules): the decisions are detexp.train.linked_runs'; these
# functions give them the jobs' params and files.
import json
from collections import Counter
from functools import lru_cache
from types import SimpleNamespace

from detexp.train import linked_runs


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
    detexp.train.linked_runs."""
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
    """detexp.train.linked_runs.same_jobs_key of a run's data and training jobs and `stages` (rules)."""
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
    """run -> the run whose `rule` results (train, evaluate, infer) it links in a local job:
    the same training foreseen, the same settings (linked_runs.reused_results)."""
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
    return name_pattern(runs) or "(?!)"


def reused_from(reused, **patterns):
    """Input function: the files (a pattern per name) of the run whose results this run reuses."""

    def inputs(wildcards):
        source = reused[wildcards.run]
        return {
            name: pattern.format(run=source, video=wildcards.get("video"))
            for name, pattern in patterns.items()
        }

    return inputs
