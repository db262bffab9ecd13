"""Training resumes after its job is killed, through Snakemake's removal of the failed job's outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import torch

from conftest import SNAKEMAKE, snakemake
from detexp.training import TrainingPaths, find_resume_checkpoint, reuse_finished, train

EXP = "results/exp_person_100"
ARGS = ("--configfile", "config/demo.yaml", "--config", "training={epochs: 3}", "--cores", "2")


def test_resume_prefers_the_newest_complete_checkpoint(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.digest").write_text("abc\n")
    (state / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    torch.save({"epoch": 4}, state / "resume.ckpt")
    torch.save({"epoch": 1}, state / "checkpoint_1.ckpt")
    messages: list[str] = []
    assert find_resume_checkpoint(state, "abc", messages.append) == (state / "resume.ckpt", 5)
    assert any("last.ckpt is truncated or unreadable" in m for m in messages)


def test_state_of_other_settings_is_cleared(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.digest").write_text("old\n")
    torch.save({"epoch": 2}, state / "last.ckpt")
    assert find_resume_checkpoint(state, "new", lambda m: None) is None
    assert not state.exists()


def _kill_training_after_first_epoch(proc: subprocess.Popen, state: Path, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    last_size = -1
    while time.time() < deadline:
        ckpt = state / "last.ckpt"
        size = ckpt.stat().st_size if ckpt.exists() else -1
        if size > 0 and size == last_size:  # written completely after epoch 1
            for child in psutil.Process(proc.pid).children(recursive=True):
                if any("train.py" in part for part in child.cmdline()):
                    child.send_signal(signal.SIGKILL)
                    return
        last_size = size
        time.sleep(1.0)
        assert proc.poll() is None, "the workflow ended before the first epoch was checkpointed"
    raise AssertionError("no checkpoint after the first epoch in time")


def _statuses(workdir: Path) -> dict[str, str]:
    """collect_results.py's status column, as a user runs it mid-study."""
    from conftest import SCRIPTS

    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "collect_results.py"), "--format", "json", "--configfile", "config/demo.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return {row["run"]: row["status"] for row in json.loads(proc.stdout)}


def test_a_killed_training_resumes_from_its_last_complete_epoch(workflow_copy):
    snakemake(workflow_copy, *ARGS, "--", f"{EXP}/dataset_stats.json")
    # what the collector says of a real partial run, stage by stage
    assert _statuses(workflow_copy) == {
        "exp_person_100": "dataset prepared",
        "exp_person_25": "not started",
        "exp_person_50": "not started",
        "exp_person_75": "not started",
    }
    cmd = [SNAKEMAKE, *ARGS, "--", f"{EXP}/training/training_summary.json"]
    proc = subprocess.Popen(cmd, cwd=workflow_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _kill_training_after_first_epoch(proc, workflow_copy / EXP / "training/state")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Error in rule train" in out
    assert not (workflow_copy / EXP / "training/training_summary.json").exists()  # removed by Snakemake
    assert (workflow_copy / EXP / "training/state/last.ckpt").exists()  # the resume state survived
    assert _statuses(workflow_copy)["exp_person_100"] == "training (1 epoch(s) logged)"

    snakemake(workflow_copy, *ARGS, "--", f"{EXP}/training/training_summary.json")
    log = (workflow_copy / "logs/train/exp_person_100.log").read_text()
    assert "resuming from last.ckpt: epoch 1 was complete, training continues with epoch 2" in log
    metrics = pd.read_csv(workflow_copy / EXP / "training/metrics.csv")
    assert sorted(metrics.dropna(subset=["val/mAP_50_95"])["epoch"].unique()) == [0, 1, 2]
    summary = json.loads((workflow_copy / EXP / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 3 and summary["resumed_after_epochs"] == 1
    assert _statuses(workflow_copy)["exp_person_100"] == "trained"


TRAINING = {
    "model": "nano",
    "epochs": 8,
    "batch_size": 4,
    "lr": 1e-4,
    "image_size": 64,
    "patience": 1,
    "pretrain_weights": None,
    "multi_scale": False,
    "num_workers": 0,
    "extra": {},
}
CLASSES = ["crane hook", "person"]


@pytest.fixture(scope="module")
def early_stopped(tmp_path_factory):
    """A model from scratch at 64 px, whose validation mAP stays flat, trained with patience 1."""
    from test_remedies import write_project

    from detexp.dataset import prepare_dataset
    from detexp.formats import read_project
    from detexp.sampling import split_by_clip

    tmp_path = tmp_path_factory.mktemp("early")
    write_project(tmp_path / "proj", clips=5, per_clip=3)
    project = read_project(tmp_path / "proj", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    prepare_dataset(
        project, split_by_clip(project.frames, 0.2, 0.2, seed=1), {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "data"
    )
    summary = train(tmp_path / "data", TrainingPaths.of_run(tmp_path / "run"), CLASSES, TRAINING, seed=1, log=lambda m: None)
    return tmp_path, summary


def test_early_stopping_ends_training_and_says_so(early_stopped):
    """training.patience: a model that stops improving on validation stops before its epochs run out,
    and the summary says so."""
    tmp_path, summary = early_stopped
    assert summary["early_stopped"] and summary["epochs_run"] < 8
    metrics = pd.read_csv(TrainingPaths.of_run(tmp_path / "run").metrics)
    assert metrics["epoch"].max() + 1 == summary["epochs_run"]


def test_a_finished_training_whose_outputs_were_deleted_is_linked_again_not_rerun(early_stopped):
    """What a failed SLURM job group leaves: Snakemake deleted the outputs of every job in it, a
    finished training's too. The next attempt links the kept copies again in seconds."""
    tmp_path, summary = early_stopped
    paths = TrainingPaths.of_run(tmp_path / "run")
    outputs = [paths.checkpoint, paths.metrics, paths.class_info, paths.summary]
    before = {path: path.read_bytes() for path in outputs}
    for path in outputs:
        path.unlink()
    messages: list[str] = []
    assert train(tmp_path / "data", paths, CLASSES, TRAINING, seed=1, log=messages.append) == summary
    assert any("a finished training with the same settings, data and code is there" in m for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)  # nothing was trained
    for path in outputs:
        assert path.read_bytes() == before[path], path
    for big in (paths.checkpoint, paths.metrics):  # links to the state folder's files, not second copies
        assert big.stat().st_ino == (paths.state_dir / big.name).stat().st_ino
    # other settings (or data, or code) never reuse it: their digest differs
    assert reuse_finished(paths, "another digest", messages.append) is None
