"""The shipped SLURM profile, unchanged, on a real single-node SLURM cluster with accounting.

The test overlay only shrinks the work (the demo project, one experiment, one epoch) and makes the
executor poll sooner; every resource request comes from profiles/slurm/config.yaml. What each job
asked for is read back from SLURM's accounting (sacct), as an admin would.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SNAKEMAKE, copy_workflow, snakemake, unavailable
from slurm_cluster import ClusterUnavailable, SlurmCluster

EXPERIMENT = "exp_person_100"
VIDEOS = ["crane_hook+human_short", "crane_hook_1_short"]
OVERLAY = (
    "--profile", "profiles/slurm",
    "--configfile", "config/demo.yaml",
    "--config", f"experiments=[{EXPERIMENT}]",
    # The plugin waits 40 s before its first status check; a test's jobs take seconds.
    "--slurm-init-seconds-before-status-checks", "2",
)
FIELDS = ("JobID", "Partition", "State", "ExitCode", "ReqTRES", "Constraints", "Comment", "SubmitLine")
GPU_RULES = {"train", "evaluate", "infer"}
LOCAL_RULES = {"fetch_weights", "make_demo_project", "split_dataset", "resolve_config", "summarize", "aggregate"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        cluster = SlurmCluster(tmp_path_factory.mktemp("slurm")).start()
    except ClusterUnavailable as why:
        unavailable(f"no SLURM test cluster: {why}")
    yield cluster
    cluster.stop()


def submitted_jobs(output: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", output)


def jobs_by_rule(cluster: SlurmCluster, job_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """sacct rows of these jobs, grouped by the rule named in the job comment the plugin sets."""
    rows = cluster.sacct(*FIELDS, job_ids=job_ids)
    assert sorted(r["JobID"] for r in rows) == sorted(job_ids)  # every submitted job is in accounting
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        rule = re.match(r"rule_(\w+?)(_wildcards_|$)", row["Comment"]).group(1)
        grouped.setdefault(rule, []).append(row)
    return grouped


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("slurm_wf"))
    proc = snakemake(wf, *OVERLAY, env={"SLURM_CONF": str(cluster.conf)}, timeout=900)
    return wf, proc.stdout


def test_every_contract_output_exists(slurm_run):
    wf, _ = slurm_run
    d = wf / "results" / EXPERIMENT
    for rel in [
        "dataset_stats.json",
        "training/checkpoint_best_total.pth",
        "training/class_info.json",
        "training/metrics.csv",
        "training/training_summary.json",
        "evaluation/metrics.json",
        "experiment_summary.json",
        *[f"inference/detected_{v}.mp4" for v in VIDEOS],
        *[f"inference/{v}_detections.json" for v in VIDEOS],
    ]:
        assert (d / rel).stat().st_size > 0, rel
    rows = (wf / "results/comparison.csv").read_text().splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith(f"{EXPERIMENT},")
    summary = json.loads((d / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 1


def test_gpu_jobs_asked_for_the_h100_partition_gpu_and_constraint(cluster, slurm_run):
    _, output = slurm_run
    jobs = jobs_by_rule(cluster, submitted_jobs(output))
    assert {rule: len(rows) for rule, rows in jobs.items()} == {"prepare_dataset": 1, "train": 1, "evaluate": 1, "infer": 2, "compare_pairs": 1}
    for rule in GPU_RULES:
        for row in jobs[rule]:
            assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
            assert row["Partition"] == "gpu-long"
            assert row["Constraints"] == "h100-96"
            assert "gres/gpu=1" in row["ReqTRES"] and "gres/gpu:h100=1" in row["ReqTRES"]
            # what each rule uses: training 8 (data loading), evaluation and inference their 2 threads
            assert f"cpu={8 if rule == 'train' else 2}," in row["ReqTRES"] + ",", row
            line = row["SubmitLine"]
            assert " -p gpu-long " in line and " -C h100-96 " in line and "--gpus=h100:1" in line
            assert " --requeue" in line  # preemption puts it back in the queue instead of failing it
            # the README's request table: 24 h and 64 GB for training, 2 h and 32 GB for the others
            limits = (" -t 1440 ", " --mem 64000 ") if rule == "train" else (" -t 120 ", " --mem 32000 ")
            assert all(limit in line for limit in limits), line


def test_cpu_jobs_asked_for_no_gpu_and_bookkeeping_stayed_local(cluster, slurm_run):
    _, output = slurm_run
    jobs = jobs_by_rule(cluster, submitted_jobs(output))
    for rule in ("prepare_dataset", "compare_pairs"):
        (job,) = jobs[rule]
        assert job["Partition"] == "cpu" and job["State"] == "COMPLETED", job
        assert "gpu" not in job["ReqTRES"] and "--gpus" not in job["SubmitLine"]
        assert job["Constraints"] == ""
    assert " -t 60 " in jobs["prepare_dataset"][0]["SubmitLine"] and " -t 60 " in jobs["compare_pairs"][0]["SubmitLine"]
    # the README's request table: prepare_dataset 2 CPUs and 8 GB, compare_pairs 1 CPU and 8 GB
    assert "cpu=2," in jobs["prepare_dataset"][0]["ReqTRES"] + "," and " --mem 8000 " in jobs["prepare_dataset"][0]["SubmitLine"]
    assert "cpu=1," in jobs["compare_pairs"][0]["ReqTRES"] + "," and " --mem 8000 " in jobs["compare_pairs"][0]["SubmitLine"]
    assert not LOCAL_RULES & set(jobs)


def test_training_ran_inside_the_allocation(slurm_run):
    wf, _ = slurm_run
    log = (wf / "logs/train" / f"{EXPERIMENT}.log").read_text()
    assert "training RF-DETR nano on cpu" in log  # the test node's GPU is a count-only one
    assert "trained 1 epoch(s)" in log


def test_a_job_failing_inside_slurm_fails_the_run_naming_rule_and_log(cluster, slurm_run):
    wf, _ = slurm_run
    video = wf / "resources/demo_project/videos/crane_hook_1_short.mp4"
    video.write_bytes(b"\x00not a video\x00" * 64)  # newer than its outputs: infer reruns
    target = f"results/{EXPERIMENT}/inference/crane_hook_1_short_detections.json"
    proc = snakemake(wf, *OVERLAY, "--", target, env={"SLURM_CONF": str(cluster.conf)}, check=False, timeout=600)
    assert proc.returncode != 0
    assert "Error in rule infer" in proc.stdout
    log = f"logs/infer/{EXPERIMENT}/crane_hook_1_short.log"
    assert log in proc.stdout
    assert "crane_hook_1_short.mp4: cannot open the video" in (wf / log).read_text()
    assert not (wf / target).exists()
    # the profile's retry: the job was submitted twice, and both failed in accounting
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert [r["State"] for r in jobs["infer"]] == ["FAILED", "FAILED"]


def _running_train_job(cluster: SlurmCluster, state: Path, proc: subprocess.Popen, timeout: float = 600) -> str:
    """The SLURM job id of the running training once its first epoch is checkpointed completely."""
    deadline, last_size = time.time() + timeout, -1
    while time.time() < deadline:
        assert proc.poll() is None, "the workflow ended before the first epoch was checkpointed"
        ckpt = state / "last.ckpt"
        size = ckpt.stat().st_size if ckpt.exists() else -1
        if size > 0 and size == last_size:
            running = [line.split("|") for line in cluster.command("squeue", "-h", "-t", "R", "-o", "%i|%k").splitlines()]
            (job_id,) = [job for job, comment in running if comment.startswith("rule_train")]
            return job_id
        last_size = size
        time.sleep(1.0)
    raise AssertionError("no checkpoint after the first epoch in time")


def test_a_preempted_training_is_requeued_and_resumes_while_snakemake_waits(cluster, slurm_run):
    """What a preemption does on a shared cluster, by `scontrol requeue` (the same path through
    SLURM): the job goes back to the queue and restarts, Snakemake keeps waiting, and training goes
    on from its last complete epoch; the run ends well with one submission."""
    wf, _ = slurm_run
    exp = wf / "results" / EXPERIMENT
    for stale in (exp / "training/state").glob("*"):  # the earlier 1-epoch run's resume state
        stale.unlink()
    overlay = [*OVERLAY[:-2], "training={epochs: 2}", *OVERLAY[-2:]]
    since = time.strftime("%Y-%m-%dT%H:%M:%S")  # accounting outlives test clusters: job ids recur
    proc = subprocess.Popen(
        [SNAKEMAKE, *overlay, "--", f"results/{EXPERIMENT}/training/training_summary.json"],
        cwd=wf, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        job_id = _running_train_job(cluster, exp / "training/state", proc)
        cluster.command("scontrol", "requeue", job_id)
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    assert submitted_jobs(out) == [job_id]  # not a resubmission: the same job, requeued by SLURM
    history = cluster.command("sacct", "-D", "-X", "-P", "-n", "-o", "State", "-S", since, "-j", job_id).split()
    assert history == ["REQUEUED", "COMPLETED"], history
    log = (wf / "logs/train" / f"{EXPERIMENT}.log").read_text()
    resumed = re.search(r"resuming from last.ckpt: epoch (\d) was complete, training continues with epoch (\d)", log)
    assert resumed and (int(resumed[1]), int(resumed[2])) == (1, 2), log[-3000:]  # requeued after epoch 1 of 2
    summary = json.loads((exp / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["resumed_after_epochs"] == 1
