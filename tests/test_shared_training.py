"""Runs with identical training inputs train once, and a finished training is reused only for identical
inputs: its digest covers the settings, the seed, the training and validation data and the code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from detexp.training import (
    FINISHED,
    TrainingPaths,
    plan_trainings,
    EQUIVALENT_CODE,
    PREVIOUS_SCHEME_CODE,
    accepted_digests,
    run_digest,
    train,
    train_kwargs,
    training_digest,
)

from test_resume import TRAINING as RESUME_TRAINING

CLASSES = ["crane hook", "person"]
TRAINING = RESUME_TRAINING | {"epochs": 1, "patience": None}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A study folder with one run trained for real: results/a (dataset and training)."""
    from test_remedies import write_project

    from detexp.dataset import prepare_dataset
    from detexp.formats import read_project
    from detexp.sampling import split_by_clip

    root = tmp_path_factory.mktemp("shared")
    write_project(root / "proj", clips=5, per_clip=3)
    project = read_project(root / "proj", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": 1.0}, 1, root / "results/a/dataset")
    train(root / "results/a/dataset", TrainingPaths.of_run(root / "results/a"), CLASSES, TRAINING, seed=1, log=lambda m: None)
    return root


def copy_dataset(study: Path, run: str) -> Path:
    target = study / "results" / run / "dataset"
    shutil.copytree(study / "results/a/dataset", target)
    return target


def edit_annotations(dataset: Path, split: str, change) -> None:
    path = dataset / split / "_annotations.coco.json"
    coco = json.loads(path.read_text())
    change(coco)
    path.write_text(json.dumps(coco))


def digest_of(dataset: Path, classes=CLASSES, training=TRAINING, seed=1) -> str:
    return run_digest(dataset, classes, training, seed, None)


def test_the_digest_covers_settings_seed_both_splits_and_classes_but_not_the_place(study, tmp_path):
    dataset = study / "results/a/dataset"
    moved = tmp_path / "elsewhere"
    shutil.copytree(dataset, moved)
    assert digest_of(moved) == digest_of(dataset)  # the same inputs in another run's folder
    assert digest_of(dataset, seed=2) != digest_of(dataset)
    assert digest_of(dataset, training=TRAINING | {"lr": 2e-4}) != digest_of(dataset)
    assert digest_of(dataset, classes=list(reversed(CLASSES))) != digest_of(dataset)
    edit_annotations(moved, "valid", lambda c: c["annotations"][0]["bbox"].__setitem__(0, 1.5))
    assert digest_of(moved) != digest_of(dataset)  # a fixed validation label
    test_changed = tmp_path / "test_changed"
    shutil.copytree(dataset, test_changed)
    edit_annotations(test_changed, "test", lambda c: c["annotations"][0]["bbox"].__setitem__(0, 1.5))
    assert digest_of(test_changed) == digest_of(dataset)  # the test split is not what a training reads


def test_a_run_with_identical_inputs_links_the_finished_training_instead_of_training(study):
    dataset = copy_dataset(study, "b")
    paths = TrainingPaths.of_run(study / "results/b")
    messages: list[str] = []
    summary = train(dataset, paths, CLASSES, TRAINING, seed=1, log=messages.append, same_as="a")
    assert any(m.startswith("the same training inputs as run a ") for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)  # nothing was trained
    first = TrainingPaths.of_run(study / "results/a")
    assert paths.checkpoint.stat().st_ino == first.checkpoint.stat().st_ino  # one checkpoint on disk
    # a symbolic link into b's own state folder: Snakemake's touch of b's outputs leaves a's files alone
    assert paths.checkpoint.is_symlink() and paths.checkpoint.resolve().parent == paths.state_dir.resolve()
    assert summary["same_training_as"] == "a" and summary["linked_by_plan"] is True
    assert summary["training_digest"] == json.loads(first.summary.read_text())["training_digest"]
    assert json.loads(paths.summary.read_text()) == summary
    # the link is this run's own finished training from now on: deleted outputs are linked again
    paths.summary.unlink()
    messages.clear()
    assert train(dataset, paths, CLASSES, TRAINING, seed=1, log=messages.append) == summary
    assert any("a finished training with the same settings, data and code is there" in m for m in messages)


def test_an_identical_finished_training_is_found_without_a_plan(study):
    dataset = copy_dataset(study, "c")
    messages: list[str] = []
    summary = train(dataset, TrainingPaths.of_run(study / "results/c"), CLASSES, TRAINING, seed=1, log=messages.append)
    assert summary["same_training_as"] in ("a", "b") and summary["linked_by_plan"] is False
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)


def test_a_changed_validation_label_retrains(study):
    dataset = copy_dataset(study, "d")
    edit_annotations(dataset, "valid", lambda c: c["annotations"][0]["bbox"].__setitem__(1, 0.5))
    run = study / "results/d"
    shutil.copytree(study / "results/a/training", run / "training")  # a's finished training, in d's own folder
    messages: list[str] = []
    summary = train(dataset, TrainingPaths.of_run(run), CLASSES, TRAINING, seed=1, log=messages.append, same_as="a")
    assert any(m.startswith("rfdetr train() arguments") for m in messages), messages  # trained anew
    assert any("was expected to hold this training finished, but holds none of digest" in m for m in messages)
    assert summary["same_training_as"] is None and summary["training_digest"] == digest_of(dataset)
    assert summary["training_digest"] != digest_of(study / "results/a/dataset")


@pytest.mark.parametrize("earlier", ["the previous digest scheme", "an equivalent earlier training.py"])
def test_a_training_finished_under_an_earlier_digest_of_it_is_kept(study, tmp_path, earlier):
    run = tmp_path / "results/old"
    shutil.copytree(study / "results/a", run)
    paths = TrainingPaths.of_run(run)
    dataset = run / "dataset"
    kwargs = train_kwargs(str(dataset), str(paths.state_dir), CLASSES, TRAINING, 1, "")
    equivalent = {training_digest(kwargs, None, dataset, code) for code in EQUIVALENT_CODE}
    previous = accepted_digests(kwargs, None, dataset) - equivalent
    assert len(equivalent) == len(EQUIVALENT_CODE) and len(previous) == len(PREVIOUS_SCHEME_CODE)
    record = json.loads((paths.state_dir / FINISHED).read_text())
    record["digest"] = sorted(previous if earlier == "the previous digest scheme" else equivalent)[0]
    record["summary"].pop("training_digest")
    (paths.state_dir / FINISHED).write_text(json.dumps(record))
    paths.summary.unlink()
    messages: list[str] = []
    summary = train(dataset, paths, CLASSES, TRAINING, seed=1, log=messages.append)
    assert any("finished under an earlier digest of the same training" in m for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)
    current = training_digest(kwargs, None, dataset)
    assert json.loads((paths.state_dir / FINISHED).read_text())["digest"] == current == summary["training_digest"]
    assert current not in equivalent | previous


def test_the_plan_trains_each_digest_once_and_keeps_a_finished_training_where_it_is():
    digests = {"exp_a": "d1", "exp_b": "d1", "exp_c": "d2", "exp_d": "d1"}
    fresh = plan_trainings(digests, lambda run: None)
    assert {r: p["shares_training_of"] for r, p in fresh.items()} == {
        "exp_a": None,
        "exp_b": "exp_a",
        "exp_c": None,
        "exp_d": "exp_a",
    }
    # exp_b already holds d1 finished (e.g. exp_a was added to the study later): exp_b keeps training it
    later = plan_trainings(digests, {"exp_b": "d1"}.get)
    assert {r: p["shares_training_of"] for r, p in later.items()} == {
        "exp_a": "exp_b",
        "exp_b": None,
        "exp_c": None,
        "exp_d": "exp_b",
    }
    assert later["exp_d"]["digest"] == "d1"


def test_two_identical_experiments_train_once_through_the_workflow(workflow_copy):
    """The training_plan checkpoint makes the second run wait for the first's training and link it;
    the comparison and the paired bootstrap say the two are the same."""
    from conftest import DEMO, job_counts, snakemake

    experiments = workflow_copy / "config/identical"
    experiments.mkdir()
    for name in ("same_a", "same_b"):
        (experiments / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{person: 1.0}}\n")
    (workflow_copy / "config/identical.yaml").write_text(
        "experiments_dir: config/identical\ntest_videos: []\nstatistics: {pairs: [[same_a, same_b]], bootstrap_samples: 20}\n"
    )
    args = ("--configfile", DEMO[1], "config/identical.yaml")
    snakemake(workflow_copy, *args, "--cores", "2")
    log_a = (workflow_copy / "logs/train/same_a.log").read_text()
    log_b = (workflow_copy / "logs/train/same_b.log").read_text()
    assert "rfdetr train() arguments" in log_a and "rfdetr train() arguments" not in log_b  # one training
    assert "the same training inputs as run same_a" in log_b
    assert "run same_b has the same training inputs as run same_a" in (workflow_copy / "logs/training_plan.log").read_text()
    plan = json.loads((workflow_copy / "results/training_plan.json").read_text())
    assert plan["same_a"]["shares_training_of"] is None and plan["same_b"]["shares_training_of"] == "same_a"
    summary_b = json.loads((workflow_copy / "results/same_b/training/training_summary.json").read_text())
    # linked as planned: its job waited for same_a's training in the DAG, not by chance of timing
    assert summary_b["same_training_as"] == "same_a" and summary_b["linked_by_plan"] is True
    a, b = (workflow_copy / f"results/{r}/training/checkpoint_best_total.pth" for r in ("same_a", "same_b"))
    assert a.stat().st_ino == b.stat().st_ino
    comparison = pd.read_csv(workflow_copy / "results/comparison.csv").set_index("run")
    assert comparison.loc["same_a", "notes"] == "same training data as same_b"
    assert comparison.loc["same_b", "notes"] == "same training data as same_a"
    stats = pd.read_csv(workflow_copy / "results/comparison_stats.csv")
    assert len(stats) == 4 and stats["note"].str.startswith("identical training").all() and stats["difference"].isna().all()
    # the plan is settled: nothing is stale, and the finished runs do not wait for it again
    out = snakemake(workflow_copy, "-n", *args).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-2000:]
