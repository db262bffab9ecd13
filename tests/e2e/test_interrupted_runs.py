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


def test_a_pack_whose_run_fails_keeps_its_mates_finished_work(workflow_copy):
    """gpu_allocation.runs_per_gpu 2: one run of a pack cannot train (another training of it is live),
    its pack-mate trains beside it and is evaluated and inferred. The pack job fails and Snakemake removes
    its outputs, the mate's included; the next run links the mate's training, evaluation and inference
    back from their records (not trained or computed again: the same bytes) while the other run trains."""
    from detexp.train.runlock import TrainingLock

    mate, blocked = "exp_person_100", "exp_person_25"
    video = "crane_hook_1_short"
    args = (
        *DEMO,
        "--config",
        f"experiments=[{mate}, {blocked}]",
        "gpu_allocation={runs_per_gpu: 2}",
        f"test_videos=[{video}.mp4]",
        "--cores",
        "2",
        "--",
        *(f"results/{run}/evaluation/metrics.json" for run in (mate, blocked)),
    )
    logs = {step: workflow_copy / f"logs/{step}/{mate}.log" for step in ("train", "evaluate")}
    logs["infer"] = workflow_copy / f"logs/infer/{mate}/{video}.log"
    results = workflow_copy / "results" / mate
    made = ["training/checkpoint_best_total.pth", "evaluation/metrics.json", f"inference/{video}_detections.json"]
    held = workflow_copy / "results" / blocked / "training/training.lock"
    with TrainingLock(held, f"results/{blocked}/training/state", lambda message: None):
        failed = snakemake(workflow_copy, *args, check=False)
    assert failed.returncode != 0
    pack_log = (workflow_copy / "logs/packs/pack1.log").read_text()
    assert f"training 2 run(s) side by side on one GPU: {mate}, {blocked}" in pack_log, pack_log
    assert f"run {blocked}: its training failed (exit 1; logs/train/{blocked}.log)" in pack_log, pack_log
    assert f"The other runs of the pack ({mate}) finished; their results are kept and linked at the next run" in pack_log
    blocked_log = workflow_copy / f"logs/train/{blocked}.log"
    assert f"another training of run results/{blocked}/training/state is live" in blocked_log.read_text()
    first = {step: log.read_text() for step, log in logs.items()}
    assert "rfdetr train() arguments" in first["train"], first["train"][-3000:]
    assert all(first.values()) and not any("reused:" in text for text in first.values()), first
    # Snakemake removed the failed job's outputs; the mate's evaluation and inference keep their records
    assert not any((results / f).exists() for f in made)
    records = [json.loads(r.read_text()) for r in sorted(results.glob("*/.made_from/*/inputs.json"))]
    assert sorted(Path(next(iter(r["outputs"].values()))).parent.name for r in records) == ["evaluation", "inference"]
    trained = json.loads((results / "training/state/finished.json").read_text())["summary"]["checkpoint_sha256"]

    snakemake(workflow_copy, *args)  # the other training has ended
    again = {step: log.read_text() for step, log in logs.items()}
    again = {step: text[len(first[step]) :] if text.startswith(first[step]) else text for step, text in again.items()}
    assert "nothing is trained" in again["train"] and "rfdetr train() arguments" not in again["train"], again["train"]
    for step in ("evaluate", "infer"):
        assert "reused:" in again[step] and "no model loaded" in again[step], again[step]
    assert "rfdetr train() arguments" in blocked_log.read_text()
    from detexp.content import file_sha256

    assert file_sha256(results / made[0]) == trained  # the training it finished in the failed pack
    for record in records:  # the files the records were made with, linked back
        assert {name: file_sha256(workflow_copy / path) for name, path in record["outputs"].items()} == record["sha256"]
