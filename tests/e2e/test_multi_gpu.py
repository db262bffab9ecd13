"""One run on several GPUs, through the workflow: a real 2-process data-parallel training (Lightning
DDP on the CPU, gloo, the test-only DETEXP_CPU_DDP), killed after its first epoch and resumed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pandas as pd
import psutil

from conftest import SNAKEMAKE, job_counts, snakemake
from detexp.distributed import CPU_DDP_ENV, images_per_epoch

EXP = "results/exp_person_100"
TWO = ("--configfile", "config/demo.yaml", "--config", "training={epochs: 2, gpus: 2}", "test_videos=[]", "--cores", "2")
# One thread per process: 2 processes on the 2 cores of a small CI machine, not 2 threads each.
ENV = {CPU_DDP_ENV: "1", "OMP_NUM_THREADS": "1"}


def _train_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    return [c for c in psutil.Process(proc.pid).children(recursive=True) if any("train.py" in p for p in c.cmdline())]


def test_a_two_process_training_counts_every_rank_writes_once_and_resumes_after_a_kill(workflow_copy):
    # without GPUs (and without the tests' CPU processes) it fails at once, naming the key
    failed = snakemake(workflow_copy, *TWO, "--", f"{EXP}/training/training_summary.json", check=False, env={CPU_DDP_ENV: "0"})
    log = workflow_copy / "logs/train/exp_person_100.log"
    assert failed.returncode != 0 and "training.gpus is 2, but this machine has 0 GPU(s)" in log.read_text()
    assert "rfdetr train() arguments" not in log.read_text()  # nothing started
    log.unlink()

    state = workflow_copy / EXP / "training/state"
    proc = subprocess.Popen(
        [SNAKEMAKE, *TWO, "--", f"{EXP}/training/training_summary.json"],
        cwd=workflow_copy,
        env=dict(os.environ, **ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline, last_size, ranks = time.time() + 600, -1, []
    while time.time() < deadline:
        assert proc.poll() is None, "the workflow ended before the first epoch was checkpointed"
        ranks = max(ranks, _train_processes(proc), key=len)
        ckpt = state / "last.ckpt"
        size = ckpt.stat().st_size if ckpt.exists() else -1
        if size > 0 and size == last_size:  # written completely after epoch 1
            break
        last_size = size
        time.sleep(1.0)
    else:
        raise AssertionError("no checkpoint after the first epoch in time")
    # rank 0 (the rule's script) and the rank it launched (the same script again), both training
    assert len(_train_processes(proc)) == 2, [p.cmdline() for p in _train_processes(proc)]
    for rank in _train_processes(proc):
        rank.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Error in rule train" in out

    snakemake(workflow_copy, *TWO, "--", f"{EXP}/training/training_summary.json", env=ENV)
    log = (workflow_copy / "logs/train/exp_person_100.log").read_text()
    assert "training RF-DETR nano on 2 x cpu (DDP" in log
    assert "resuming from last.ckpt: epoch 1 was complete, training continues with epoch 2" in log
    # written once, by rank 0 (Snakemake started the rerun's log afresh): one start, one record
    assert log.count("rfdetr train() arguments") == 1 and log.count("trained 2 epoch(s), 1 in this run") == 1, log[-3000:]
    assert "taking over the training lock" in log  # the killed rank 0's; no other rank ever held one
    metrics = pd.read_csv(workflow_copy / EXP / "training/metrics.csv")
    validated = metrics.dropna(subset=["val/mAP_50_95"])
    assert sorted(validated["epoch"]) == [0, 1]  # one row per epoch, not one per rank
    assert not (workflow_copy / EXP / "training/training.lock").exists()

    # every rank's images, with the repeats rfdetr adds to a set too small for 2 processes of 4
    summary = json.loads((workflow_copy / EXP / "training/training_summary.json").read_text())
    entries = summary["train_images"]
    repeated = re.search(r"Repeating training samples because dataset is too small for DDP: (\d+) < (\d+)", log)
    assert repeated and (int(repeated[1]), int(repeated[2])) == (entries, 5 * 4 * 2), log[-3000:]
    assert (summary["gpus"], summary["effective_batch"], summary["epochs_run"]) == (2, 8, 2)
    assert summary["training_images_seen"] == 2 * images_per_epoch(entries, 4, 2) == 2 * 40
    assert summary["resumed_after_epochs"] == 1

    # the finished 2-GPU training is kept for 2 GPUs, and is not the 1-GPU training
    assert not job_counts(snakemake(workflow_copy, "-n", *TWO, "--", f"{EXP}/training/training_summary.json").stdout)
    one = [a.replace("gpus: 2", "gpus: 1") for a in TWO]
    assert job_counts(snakemake(workflow_copy, "-n", *one, "--", f"{EXP}/training/training_summary.json").stdout) == {"train": 1}
