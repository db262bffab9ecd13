"""Training resumes after its job is killed, through Snakemake's removal of the failed job's outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import torch

from conftest import SNAKEMAKE, snakemake
from detexp.training import find_resume_checkpoint, reuse_finished, train

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


def test_a_killed_training_resumes_from_its_last_complete_epoch(workflow_copy):
    snakemake(workflow_copy, *ARGS, "--", f"{EXP}/dataset_stats.json")
    cmd = [SNAKEMAKE, *ARGS, "--", f"{EXP}/training/training_summary.json"]
    proc = subprocess.Popen(cmd, cwd=workflow_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _kill_training_after_first_epoch(proc, workflow_copy / EXP / "training/state")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Error in rule train" in out
    assert not (workflow_copy / EXP / "training/training_summary.json").exists()  # removed by Snakemake
    assert (workflow_copy / EXP / "training/state/last.ckpt").exists()  # the resume state survived

    snakemake(workflow_copy, *ARGS, "--", f"{EXP}/training/training_summary.json")
    log = (workflow_copy / "logs/train/exp_person_100.log").read_text()
    assert "resuming from last.ckpt: epoch 1 was complete, training continues with epoch 2" in log
    metrics = pd.read_csv(workflow_copy / EXP / "training/metrics.csv")
    assert sorted(metrics.dropna(subset=["val/mAP_50_95"])["epoch"].unique()) == [0, 1, 2]
    summary = json.loads((workflow_copy / EXP / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 3 and summary["resumed_after_epochs"] == 1


TRAINING = {"model": "nano", "epochs": 8, "batch_size": 4, "lr": 1e-4, "image_size": 64, "patience": 1,
            "pretrain_weights": None, "multi_scale": False, "num_workers": 0, "extra": {}}
CLASSES = ["crane hook", "person"]


@pytest.fixture(scope="module")
def early_stopped(tmp_path_factory):
    """A model from scratch at 64 px, whose validation mAP stays flat, trained with patience 1."""
    from test_remedies import write_project

    from detexp.dataset import prepare_dataset, read_project, split_by_clip

    tmp_path = tmp_path_factory.mktemp("early")
    write_project(tmp_path / "proj", clips=5, per_clip=3)
    project = read_project(tmp_path / "proj", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    prepare_dataset(project, split_by_clip(project.frames, 0.2, 0.2, seed=1), {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "data")
    summary = train(tmp_path / "data", tmp_path / "run", CLASSES, TRAINING, seed=1, log=lambda m: None)
    return tmp_path, summary


def test_early_stopping_ends_training_and_says_so(early_stopped):
    """training.patience: a model that stops improving on validation stops before its epochs run out,
    and the summary says so."""
    tmp_path, summary = early_stopped
    assert summary["early_stopped"] and summary["epochs_run"] < 8
    metrics = pd.read_csv(tmp_path / "run/metrics.csv")
    assert metrics["epoch"].max() + 1 == summary["epochs_run"]


def test_a_finished_training_whose_outputs_were_deleted_is_linked_again_not_rerun(early_stopped):
    """What a failed SLURM job group leaves: Snakemake deleted the outputs of every job in it, a
    finished training's too. The next attempt links the kept copies again in seconds."""
    tmp_path, summary = early_stopped
    run = tmp_path / "run"
    outputs = ["checkpoint_best_total.pth", "metrics.csv", "class_info.json", "training_summary.json"]
    before = {name: (run / name).read_bytes() for name in outputs}
    for name in outputs:
        (run / name).unlink()
    messages: list[str] = []
    assert train(tmp_path / "data", run, CLASSES, TRAINING, seed=1, log=messages.append) == summary
    assert any("a finished training with the same settings, data and code is there" in m for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)  # nothing was trained
    for name in outputs:
        assert (run / name).read_bytes() == before[name], name
        assert (run / name).stat().st_ino == (run / "state" / name).stat().st_ino  # a link, not a second copy
    # other settings (or data, or code) never reuse it: their digest differs
    assert reuse_finished(run / "state", run, "another digest", messages.append) is None
