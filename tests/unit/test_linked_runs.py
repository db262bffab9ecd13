"""linked_runs: which run's finished training a run links, as the DAG is built (plan and records)."""

from __future__ import annotations

import pytest

from detexp.linked_runs import planned_after, shared_training_source

RUNS = ("a", "b", "c")


def never_read() -> dict:
    raise AssertionError("the plan was read for a run whose record decides")


def source(run: str, summaries: dict, plan=None, runs=RUNS):
    return shared_training_source(run, runs, summaries.get, (lambda: plan) if plan is not None else never_read)


def test_a_run_without_a_record_follows_the_plan_within_the_study():
    plan = {"b": {"shares_training_of": "a"}, "c": {"shares_training_of": "c"}, "a": {}}
    assert source("b", {}, plan) == "a"
    assert source("a", {}, plan) is None  # the plan's owner trains
    assert source("c", {}, plan) is None  # never itself
    assert source("b", {}, plan, runs=("b", "c")) is None  # never a run gone from the study


def test_a_link_never_goes_both_ways():
    # a's finished job waited for b: b must not wait for a, whatever the plan says now
    summaries = {"a": {"planned_after": "b"}}
    assert source("b", summaries, {"b": {"shares_training_of": "a"}}) is None


def test_a_finished_run_keeps_what_its_job_waited_for_without_reading_the_plan():
    summaries = {"b": {"planned_after": "a"}, "a": {"planned_after": None}}
    assert source("b", summaries) == "a"
    assert source("a", summaries) is None  # it trained itself
    # an older record: linked by the plan, the run it names
    assert planned_after({"same_training_as": "a", "linked_by_plan": True}) == "a"
    assert planned_after({"same_training_as": "a"}) is None  # linked on its own, waiting for nobody


@pytest.mark.parametrize(
    "summaries, runs",
    [
        ({"b": {"planned_after": "a"}}, RUNS),  # a's training is gone (no record)
        ({"b": {"planned_after": "a"}, "a": {"planned_after": None}}, ("b", "c")),  # a left the study
        ({"b": {"planned_after": "a"}, "a": {"planned_after": "b"}}, RUNS),  # a now waits for b
    ],
)
def test_a_finished_run_whose_source_cannot_hold_follows_the_plan_again(summaries, runs):
    assert source("b", summaries, {"b": {"shares_training_of": "c"}}, runs) == "c"
    assert source("b", summaries, {"b": {}}, runs) is None
