"""Which run's finished training a run links instead of training, as the DAG is built.

The training_plan checkpoint names, once every run's dataset is prepared, the run whose identical
training each run shares. A run that has trained (or linked) keeps what its summary recorded, so its
inputs stay the same and nothing reruns. Read by the workflow's input functions only (not by any job:
a training's digest does not depend on it).

Which runs will share a training is also foreseen before the plan exists, from the jobs' params
(`training_roots`): a run whose evaluation or inference would repeat another's on the same
checkpoint gets it from that run in a local job (`reused_results`, detexp.test.linked_results), not in a
GPU job of its own. Snakemake picks a job's rule as the DAG is built, before any checkpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

# A run's training summary as recorded (None: none yet, or not readable)
SummaryOf = Callable[[str], "dict[str, Any] | None"]


def planned_after(record: dict[str, Any]) -> str | None:
    """The run whose training a finished run's job waited for (a summary from before this was
    recorded: the run it linked as planned)."""
    if "planned_after" in record:
        return record["planned_after"]
    return record.get("same_training_as") if record.get("linked_by_plan") else None


def waits_for(source: str, run: str, summary_of: SummaryOf) -> bool:
    """Whether `source`'s finished training job waited for `run`'s (a link never goes both ways)."""
    record = summary_of(source)
    return record is not None and planned_after(record) == run


def shared_training_source(
    run: str, runs: Collection[str], summary_of: SummaryOf, plan: Callable[[], dict[str, dict[str, Any]]]
) -> str | None:
    """The run whose finished training `run` links instead of training (None: it trains).

    A run with a finished training keeps the run its job waited for (its summary says) while that run
    is still in the study (`runs`) with a finished training and does not wait for this one. Any other
    run follows the plan (`plan()`, which may make Snakemake wait for the training_plan checkpoint),
    and never links a run gone from the study, itself, or a run that waited for it."""
    record = summary_of(run)
    if record is not None:
        source = planned_after(record)
        if source is None:
            return None
        if source in runs and source != run and summary_of(source) is not None and not waits_for(source, run, summary_of):
            return source
    source = plan().get(run, {}).get("shares_training_of")
    if source not in runs or source == run or waits_for(source, run, summary_of):
        return None
    return source


# ---- results a linked run reuses, foreseen from the jobs' params ---------------------------------
def same_jobs_key(params: Any, run: str) -> str:
    """A run's jobs' params as one string, its own id written `{run}` where it is a whole path
    component: two runs with equal keys get jobs that differ only in where they write. Their data is
    drawn by the same deterministic sampling, so their trainings have one digest."""
    own = re.compile(rf"(?<![^/]){re.escape(run)}(?![^/])")

    def general(value: Any) -> Any:
        if isinstance(value, str):
            return own.sub("{run}", value)
        if isinstance(value, dict):
            return {str(k): general(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [general(v) for v in value]
        return value

    return json.dumps(general(params), sort_keys=True, default=str)


def training_roots(
    keys: dict[str, str], summary_of: SummaryOf, current: Callable[[str], bool] = lambda run: True
) -> dict[str, str]:
    """Per run, the run whose training it will hold once trained (itself when it trains), as the
    training_plan checkpoint will decide it: runs with equal `keys` (same_jobs_key of their data and
    training jobs) have one training digest. A finished run keeps what its record says: it trained
    itself, or it links a run still in the study with the same key. A finished training of other code
    or software (not `current`) holds no training of the current digest: a new run the plan sends to
    it trains or waits for its retraining, which Snakemake alone decides. In every such doubt: itself,
    the cautious guess (a run thought to train evaluates on its own)."""
    from .shared_training import plan_trainings

    summary_of = lru_cache(maxsize=None)(summary_of)  # each record read once
    current = lru_cache(maxsize=None)(current)

    def links(run: str) -> bool:
        return bool((summary_of(run) or {}).get("same_training_as"))

    plan = plan_trainings(
        {run: keys[run] for run in sorted(keys)},
        lambda run: keys[run] if summary_of(run) is not None and current(run) else None,
        links,
    )

    def root(run: str, seen: frozenset[str] = frozenset()) -> str:
        record = summary_of(run)
        source = plan[run]["shares_training_of"] if record is None else record.get("same_training_as")
        if source is None or source in seen or source not in keys or keys[source] != keys[run]:
            return run
        if record is not None and summary_of(source) is None:
            return run  # its source's training is gone: it trains again, or links what the plan says then
        if record is None and summary_of(source) is not None and not current(source):
            return run  # its source holds an older training: whether it trains again is Snakemake's call
        return root(source, seen | {run})

    return {run: root(run) for run in keys}


def reused_results(keys: dict[str, str], roots: dict[str, str]) -> dict[str, str]:
    """run -> the run whose results (an evaluation, an inference) it reuses: one with the same
    training root and the same key (same_jobs_key of the data, training and result jobs), the root
    itself where it is one of them, else the first by id. A run absent computes its own."""
    groups: dict[tuple[str, str], list[str]] = {}
    for run in sorted(keys):
        groups.setdefault((roots[run], keys[run]), []).append(run)
    reused = {}
    for (root, _), runs in groups.items():
        owner = root if root in runs else runs[0]
        reused.update({run: owner for run in runs if run != owner})
    return reused


@lru_cache(maxsize=1)
def _current_code_and_software() -> tuple[str, str]:
    from importlib.metadata import version

    from ..codeversion import definitions_digest
    from .training_digest import SOFTWARE, TRAIN_SCRIPT

    return definitions_digest(TRAIN_SCRIPT), ", ".join(f"{name} {version(name)}" for name in SOFTWARE)


def finished_is_current(state_dir: str | Path) -> bool:
    """Whether the finished training in a state folder is of this code and software (the parts of a
    training digest that no param of the train job shows); False where there is none."""
    from .shared_training import FINISHED

    try:
        inputs = json.loads((Path(state_dir) / FINISHED).read_text()).get("inputs") or {}
    except (FileNotFoundError, ValueError):
        return False
    code, software = _current_code_and_software()
    return inputs.get("code") == code and inputs.get("software") == software
