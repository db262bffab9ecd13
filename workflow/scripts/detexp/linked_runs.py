"""Which run's finished training a run links instead of training, as the DAG is built.

The training_plan checkpoint names, once every run's dataset is prepared, the run whose identical
training each run shares. A run that has trained (or linked) keeps what its summary recorded, so its
inputs stay the same and nothing reruns. Read by the workflow's input functions only (not by any job:
a training's digest does not depend on it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
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
