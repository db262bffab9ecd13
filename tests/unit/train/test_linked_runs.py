"""linked_runs: which run's finished training a run links, as the DAG is built (plan and records)."""

from __future__ import annotations

import json

import pytest

from detexp.train.linked_runs import (
    finished_is_current,
    planned_after,
    reused_results,
    same_jobs_key,
    shared_training_source,
    training_roots,
)

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


# ---- results a linked run reuses, foreseen from the jobs' params -----------------------------------
def test_a_jobs_key_differs_only_where_the_jobs_do():
    a = same_jobs_key({"out_dir": "results/a/dataset", "seed": 1, "baseline": {"dir": "results/base/dataset"}}, "a")
    b = same_jobs_key({"out_dir": "results/b/dataset", "seed": 1, "baseline": {"dir": "results/base/dataset"}}, "b")
    assert a == b  # only where they write differs
    assert same_jobs_key({"out_dir": "results/b/dataset", "seed": 2}, "b") != same_jobs_key(
        {"out_dir": "results/a/dataset", "seed": 1}, "a"
    )
    # a run's id is replaced only as a whole path component, never inside another run's id or a value
    assert same_jobs_key({"baseline": "results/ab/x", "name": "a"}, "a") != same_jobs_key(
        {"baseline": "results/bb/x", "name": "b"}, "b"
    )


def test_runs_with_equal_keys_hold_the_first_run_s_training_unless_a_record_says_otherwise():
    keys = {"a": "k", "b": "k", "c": "other", "d": "k"}
    assert training_roots(keys, {}.get) == {"a": "a", "b": "a", "c": "c", "d": "a"}
    # b trained itself earlier: it holds its own, and the plan makes the others link it
    assert training_roots(keys, {"b": {"planned_after": None}}.get) == {"a": "b", "b": "b", "c": "c", "d": "b"}
    # d linked b before: b still holds its training, so d follows b, a follows the plan (b: finished)
    records = {"b": {"planned_after": None}, "d": {"same_training_as": "b", "planned_after": "b"}}
    assert training_roots(keys, records.get) == {"a": "b", "b": "b", "c": "c", "d": "b"}


@pytest.mark.parametrize(
    "records, keys, reused",
    [
        # a's training is gone: b is thought to hold what it has, and a (no record) follows the plan to b
        ({"b": {"same_training_as": "a"}}, {"a": "k", "b": "k"}, {"a": "b"}),
        ({"b": {"same_training_as": "a"}, "a": {}}, {"a": "changed", "b": "k"}, {}),  # a's settings changed
        ({"b": {"same_training_as": "x"}, "x": {}}, {"b": "k"}, {}),  # x left the study
        ({"b": {"same_training_as": "a"}, "a": {"same_training_as": "b"}}, {"a": "k", "b": "k"}, {}),  # a cycle
    ],
)
def test_a_run_whose_link_cannot_hold_reuses_no_result(records, keys, reused):
    """It is thought to train again (or not known to share): it evaluates and infers on its own."""
    assert reused_results(keys, training_roots(keys, records.get)) == reused


def test_results_are_reused_only_between_runs_of_one_training_and_equal_settings():
    roots = {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d"}
    # c evaluates with another batch size: its own evaluation; d and e trained apart: each its own
    keys = {"a": "k", "b": "k", "c": "other", "d": "k", "e": "k2"}
    assert reused_results(keys, roots) == {"b": "a"}
    # the root is the source where it is in the group, else the group's first run
    assert reused_results({"a": "other", "b": "k", "c": "k"}, {"a": "a", "b": "a", "c": "a"}) == {"c": "b"}
    assert reused_results({"d": "k", "e": "k"}, {"d": "d", "e": "d"}) == {"e": "d"}


def test_a_new_run_reuses_nothing_of_a_training_finished_under_other_code_or_software():
    """The plan would send it to that run, which trains again only if Snakemake reruns it (not for a
    new library version): whether the two share a training is not known when the DAG is built."""
    keys = {"a": "k", "b": "k"}
    records = {"a": {"planned_after": None}}
    assert reused_results(keys, training_roots(keys, records.get, lambda run: True)) == {"b": "a"}
    assert reused_results(keys, training_roots(keys, records.get, lambda run: False)) == {}
    # a run linked before keeps its source: their checkpoints are one file, whatever its digest
    records = {"a": {"planned_after": None}, "b": {"same_training_as": "a"}}
    assert reused_results(keys, training_roots(keys, records.get, lambda run: False)) == {"b": "a"}


def test_a_finished_training_is_current_only_for_this_code_and_software(tmp_path):
    from detexp.train.linked_runs import _current_code_and_software

    code, software = _current_code_and_software()
    assert not finished_is_current(tmp_path)  # none
    (tmp_path / "finished.json").write_text(json.dumps({"inputs": {"code": code, "software": software}}))
    assert finished_is_current(tmp_path)
    (tmp_path / "finished.json").write_text(json.dumps({"inputs": {"code": code, "software": "rfdetr 0.1"}}))
    assert not finished_is_current(tmp_path)
