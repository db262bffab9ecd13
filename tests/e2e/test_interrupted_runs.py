"""Interrupted runs: a killed training resumes from its last complete epoch through Snakemake's
removal of the failed job's outputs, and a killed Snakemake never starts a training twice."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

from conftest import DEMO, SNAKEMAKE, snakemake


EXP = "results/exp_person_100"


# 100 queries in 13 groups, not the demo's 30 in 1: an epoch of about 20 s on 2 cores (not 6) leaves
# room to kill a training between two checkpoints, and to find it still running.
ARGS = (*DEMO, "--config", "training={epochs: 3, num_queries: 100, group_detr: 13}", "--cores", "2")


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
        [sys.executable, str(SCRIPTS / "collect_results.py"), "--format", "json", *DEMO],
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


def _training_process(snakemake_proc: subprocess.Popen) -> psutil.Process:
    for child in psutil.Process(snakemake_proc.pid).children(recursive=True):
        if any("train.py" in part for part in child.cmdline()):
            return child
    raise LookupError


def test_after_snakemake_is_killed_its_training_is_not_started_twice(workflow_copy):
    """Snakemake dies (kill -9) while its training lives on; `--unlock` and a rerun refuse to train the
    same run beside it, naming the live one; once it is gone, the rerun takes its lock over and resumes."""
    snakemake(workflow_copy, *ARGS, "--", f"{EXP}/dataset_stats.json")
    target = f"{EXP}/training/training_summary.json"
    proc = subprocess.Popen(
        [SNAKEMAKE, *ARGS, "--", target], cwd=workflow_copy, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    lock = workflow_copy / EXP / "training/training.lock"
    deadline = time.time() + 300
    while not (lock.exists() and (workflow_copy / EXP / "training/state/settings.digest").exists()):
        assert time.time() < deadline and proc.poll() is None, "training did not start"
        time.sleep(0.5)
    orphan = _training_process(proc)
    proc.send_signal(signal.SIGKILL)  # Snakemake itself dies; its job does not
    proc.wait()
    try:
        assert orphan.is_running()
        snakemake(workflow_copy, "--unlock", *ARGS)
        started = time.time()
        second = snakemake(workflow_copy, *ARGS, "--rerun-incomplete", "--", target, check=False)
        assert second.returncode != 0
        assert (
            f"TrainingLockedError: another training of run {EXP}/training/state is live (host {socket.gethostname()}, PID {orphan.pid}"
        ) in second.stdout
        assert time.time() - started < 120  # stopped at once, not after training
        assert orphan.is_running()  # the live training was not disturbed
        # the refusal went to the second job's log; the live training's log stays whole beside its lock
        kept = workflow_copy / EXP / "training/training.log"
        assert f"its log {EXP}/training/training.log" in second.stdout
        refused = (workflow_copy / f"logs/train/{Path(EXP).name}.log").read_text()
        assert "TrainingLockedError" in refused and "rfdetr train() arguments" not in refused
        live = kept.read_text()
        assert "rfdetr train() arguments" in live and "TrainingLockedError" not in live
    finally:
        orphan.send_signal(signal.SIGKILL)
        orphan.wait(30)
    snakemake(workflow_copy, *ARGS, "--rerun-incomplete", "--", target)
    log = (workflow_copy / f"logs/train/{Path(EXP).name}.log").read_text()
    assert f"taking over the training lock {EXP}/training/training.lock of a training that is gone" in log
    assert f"PID {orphan.pid}" in log and "its process has ended" in log
    assert not lock.exists()
