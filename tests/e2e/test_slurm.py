"""The shipped SLURM profile, unchanged, on a real single-node SLURM cluster with accounting.

The test overlay only shrinks the work (the demo project, two experiments, one epoch) and makes the
executor poll sooner; every resource request comes from profiles/slurm/config.yaml. What each job
asked for is read back from SLURM's accounting (sacct), as an admin would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import DEMO, copy_workflow, job_counts, readme_local_rules, snakemake, unavailable
from detexp.train.distributed import images_per_epoch
from slurm_cluster import ClusterUnavailable, SlurmCluster

EXPERIMENT = "exp_person_100"
EXPERIMENTS = [EXPERIMENT, "exp_person_25"]
VIDEOS = ["crane_hook+human_short", "crane_hook_1_short"]
PROFILE = (
    "--profile",
    "profiles/slurm",
    # The plugin waits 40 s before its first status check, then 10 s longer after each check that
    # finds no job ended, up to 3 minutes; a test's jobs take seconds. SNAKEMAKE_STEADY keeps the 2 s.
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
)
SNAKEMAKE_STEADY = (sys.executable, str(Path(__file__).resolve().parents[1] / "snakemake_steady_polling.py"))
# Further --config items go after it.
OVERLAY = (*PROFILE, *DEMO, "--config", f"experiments=[{','.join(EXPERIMENTS)}]")
FIELDS = ("JobID", "Partition", "State", "ExitCode", "ReqTRES", "Constraints", "Comment", "SubmitLine")
# The job group of one run (profiles/slurm): its train, evaluate and infer jobs in one GPU allocation.
GPU_GROUP = f"gpu_{EXPERIMENT}"
GPU_RULE_LOGS = [
    f"logs/train/{EXPERIMENT}.log",
    f"logs/evaluate/{EXPERIMENT}.log",
    *[f"logs/infer/{EXPERIMENT}/{v}.log" for v in VIDEOS],
]
LOCAL_RULES = readme_local_rules()
# More queries than the demo's 30 in 1 group for the trainings a test requeues: epochs of about 20 s
# on 2 cores (30 queries: about 6 s), long enough to requeue between two checkpoints.
SLOW_EPOCHS = "num_queries: 100, group_detr: 13"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        cluster = SlurmCluster(tmp_path_factory.mktemp("slurm")).start()
    except ClusterUnavailable as why:
        unavailable(f"no SLURM test cluster: {why}")
    yield cluster
    cluster.stop()


def on_cluster(cluster: SlurmCluster, wf: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake in `wf` submitting to the test cluster, with steady status checks; it must succeed."""
    return snakemake(wf, *args, env={"SLURM_CONF": str(cluster.conf)}, timeout=900, command=SNAKEMAKE_STEADY)


def submitted_jobs(output: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", output)


def job_name(comment: str) -> tuple[str, list[str]]:
    """The rule or job group of a SLURM job, and the rules it ran, from the comment the plugin sets:
    rule_<rule>[_wildcards_<values>] for one job, rule_<group>_<its rules, sorted> for a job group."""
    group = re.match(r"rule_(gpu_.+?)((?:_(?:evaluate|infer|train))+)$", comment)
    if group:
        return group[1], group[2][1:].split("_")
    rule = re.match(r"rule_(\w+?)(_wildcards_|$)", comment)[1]
    return rule, [rule]


def jobs_by_rule(cluster: SlurmCluster, job_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """sacct rows of these jobs, grouped by the rule named in the job comment the plugin sets."""
    rows = cluster.sacct(*FIELDS, job_ids=job_ids)
    assert sorted(r["JobID"] for r in rows) == sorted(job_ids)  # every submitted job is in accounting
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        name, row["Rules"] = job_name(row["Comment"])
        grouped.setdefault(name, []).append(row)
    return grouped


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("slurm_wf"))
    proc = on_cluster(cluster, wf, *OVERLAY)
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
    assert sorted(row.split(",")[0] for row in rows) == sorted(EXPERIMENTS)
    summary = json.loads((d / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 1


def test_a_run_takes_one_gpu_allocation_with_one_gpu_for_all_its_gpu_jobs(cluster, slurm_run):
    _, output = slurm_run
    jobs = jobs_by_rule(cluster, submitted_jobs(output))
    # per run, train, evaluate and both infer jobs in one submission; the CPU jobs in their own
    gpu_groups = {f"gpu_{e}": 1 for e in EXPERIMENTS}
    assert {rule: len(rows) for rule, rows in jobs.items()} == {"prepare_dataset": 2, **gpu_groups, "compare_pairs": 1}
    (row,) = jobs[GPU_GROUP]
    assert row["Rules"] == ["evaluate", "infer", "train"]
    assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
    assert row["Partition"] == "gpu-long"
    assert row["Constraints"] == "h100-96"
    assert "gres/gpu=1," in row["ReqTRES"] + "," and "gres/gpu:h100=1," in row["ReqTRES"] + ","  # one GPU, not one per job
    # the CPUs and memory of its largest job (training: 8 CPUs for data loading, 64 GB)
    assert "cpu=8," in row["ReqTRES"] + ",", row
    line = row["SubmitLine"]
    assert " -p gpu-long " in line and " -C h100-96 " in line and "--gpus=h100:1 " in line
    assert " --requeue" in line  # preemption puts it back in the queue instead of failing it
    assert " --mem 64000 " in line, line
    # gpu_allocation.time_limit_minutes (24 h): training 1380 + evaluation 20 + 2 videos x 20
    assert " -t 1440 " in line, line


def test_cpu_jobs_asked_for_no_gpu_and_bookkeeping_stayed_local(cluster, slurm_run):
    _, output = slurm_run
    jobs = jobs_by_rule(cluster, submitted_jobs(output))
    for rule in ("prepare_dataset", "compare_pairs"):
        job = jobs[rule][0]
        assert job["Partition"] == "cpu" and job["State"] == "COMPLETED", job
        assert "gpu" not in job["ReqTRES"] and "--gpus" not in job["SubmitLine"]
        assert job["Constraints"] == ""
    assert " -t 60 " in jobs["prepare_dataset"][0]["SubmitLine"] and " -t 60 " in jobs["compare_pairs"][0]["SubmitLine"]
    # the request table (docs/slurm.md): prepare_dataset 2 CPUs and 8 GB, compare_pairs 1 CPU and 8 GB
    assert "cpu=2," in jobs["prepare_dataset"][0]["ReqTRES"] + "," and " --mem 8000 " in jobs["prepare_dataset"][0]["SubmitLine"]
    assert "cpu=1," in jobs["compare_pairs"][0]["ReqTRES"] + "," and " --mem 8000 " in jobs["compare_pairs"][0]["SubmitLine"]
    assert not LOCAL_RULES & set(jobs)


def test_every_gpu_job_of_the_run_ran_inside_that_allocation(cluster, slurm_run):
    wf, output = slurm_run
    jobs = jobs_by_rule(cluster, submitted_jobs(output))
    (gpu_job,) = jobs[GPU_GROUP]
    for log in GPU_RULE_LOGS:
        assert f"running in SLURM job {gpu_job['JobID']} on " in (wf / log).read_text(), log
    assert allocation_of(wf, f"logs/prepare_dataset/{EXPERIMENT}.log") in {job["JobID"] for job in jobs["prepare_dataset"]}
    assert "running in SLURM job" not in (wf / f"logs/summarize/{EXPERIMENT}.log").read_text()  # a local rule
    log = (wf / "logs/train" / f"{EXPERIMENT}.log").read_text()
    assert "training RF-DETR nano on cpu" in log  # the test node's GPU is a count-only one
    assert "trained 1 epoch(s)" in log


def allocation_of(wf: Path, log: str) -> str | None:
    """The SLURM job the last run of a rule's job ran in, as its log says (None: not in SLURM)."""
    found = re.findall(r"running in SLURM job (\d+) on ", (wf / log).read_text())
    return found[-1] if found else None


def test_a_changed_inference_setting_reruns_only_inference_in_one_allocation_per_run(cluster, slurm_run):
    wf, _ = slurm_run
    before = {e: allocation_of(wf, f"logs/train/{e}.log") for e in EXPERIMENTS}
    # The profile's cap on GPU allocations at once (gpu: 4), lowered to 1 here to see it act on two runs.
    assert yaml.safe_load((wf / "profiles/slurm/config.yaml").read_text())["resources"] == {"gpu": 4, "gpu_in_allocation": 1}
    cap = ["--resources", "gpu=1", "gpu_in_allocation=1"]
    overlay = [*OVERLAY, "inference={threshold: 0.05}", *cap]
    proc = on_cluster(cluster, wf, *overlay)
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert {rule: len(rows) for rule, rows in jobs.items()} == {f"gpu_{e}": 1 for e in EXPERIMENTS}
    times = sorted((r["Submit"], r["End"]) for r in cluster.sacct("Submit", "End", job_ids=submitted_jobs(proc.stdout)))
    (_, first_end), (second_submit, _) = times
    assert second_submit >= first_end, times  # the second allocation was submitted once the first had ended
    for e in EXPERIMENTS:
        (row,) = jobs[f"gpu_{e}"]
        assert row["Rules"] == ["infer"]
        # one GPU; the CPUs and memory of its largest job (inference: 2, 32 GB); 2 videos x 20 minutes
        assert "gres/gpu=1," in row["ReqTRES"] + "," and "cpu=2," in row["ReqTRES"] + ",", row
        assert " --mem 32000 " in row["SubmitLine"] and " -t 40 " in row["SubmitLine"], row["SubmitLine"]
        assert [allocation_of(wf, f"logs/infer/{e}/{v}.log") for v in VIDEOS] == [row["JobID"]] * 2
        assert allocation_of(wf, f"logs/train/{e}.log") == before[e]  # no training, no evaluation
        assert allocation_of(wf, f"logs/evaluate/{e}.log") != row["JobID"]


def test_a_new_test_video_reruns_only_its_inference_in_one_allocation_per_run(cluster, slurm_run):
    wf, _ = slurm_run
    videos = wf / "resources/demo_project/videos"
    shutil.copy2(videos / "crane_hook_1_short.mp4", videos / "third_video.mp4")
    names = ",".join(f"{v}.mp4" for v in [*VIDEOS, "third_video"])
    overlay = [*OVERLAY, "inference={threshold: 0.05}", f"test_videos=[{names}]"]
    proc = on_cluster(cluster, wf, *overlay)
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert {rule: len(rows) for rule, rows in jobs.items()} == {f"gpu_{e}": 1 for e in EXPERIMENTS}
    for e in EXPERIMENTS:
        (row,) = jobs[f"gpu_{e}"]
        assert "gres/gpu=1," in row["ReqTRES"] + "," and " -t 20 " in row["SubmitLine"], row
        assert allocation_of(wf, f"logs/infer/{e}/third_video.log") == row["JobID"]
        assert all(allocation_of(wf, f"logs/infer/{e}/{v}.log") != row["JobID"] for v in VIDEOS)
        assert (wf / f"results/{e}/inference/third_video_detections.json").stat().st_size > 0


def _last_job_log(path: Path) -> str:
    """The part of a log written by the job's last attempt (a log is appended to, attempt by attempt)."""
    text = path.read_text()
    return text[text.rindex("running in SLURM job") :]


def _running_train_job(cluster: SlurmCluster, state: Path, proc: subprocess.Popen, timeout: float = 600) -> str:
    """The SLURM job id of the running training once its first epoch is checkpointed completely."""
    deadline, last_size = time.time() + timeout, -1
    while time.time() < deadline:
        assert proc.poll() is None, "the workflow ended before the first epoch was checkpointed"
        ckpt = state / "last.ckpt"
        size = ckpt.stat().st_size if ckpt.exists() else -1
        if size > 0 and size == last_size:
            running = [line.split("|") for line in cluster.command("squeue", "-h", "-t", "R", "-o", "%i|%k").splitlines()]
            (job_id,) = [job for job, comment in running if comment.startswith(f"rule_{GPU_GROUP}")]
            return job_id
        last_size = size
        time.sleep(1.0)
    raise AssertionError("no checkpoint after the first epoch in time")


def _requeue(cluster: SlurmCluster, job_id: str) -> None:
    """Preempt a running job the way SLURM does (`scontrol requeue`), then make it eligible at once:
    SLURM holds a requeued job back from starting for a while, which a test need not wait for."""
    cluster.command("scontrol", "requeue", job_id)
    deadline = time.time() + 60
    while time.time() < deadline:
        if cluster.command("squeue", "-h", "-j", job_id, "-o", "%T").strip() == "PENDING":
            # unchecked: the job may have started in the meantime, and no longer be pending
            cluster.command("scontrol", "update", f"JobId={job_id}", "StartTime=now", check=False)
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not return to the queue after its requeue")


def _run_requeued_after_first_epoch(
    cluster: SlurmCluster, wf: Path, args: list[str], env: dict[str, str]
) -> tuple[int, str, str, list[str]]:
    """Run Snakemake with `args` and requeue the run's GPU allocation once its training has checkpointed
    its first epoch: Snakemake's exit code and output, the requeued job's id and its states since the
    run began (sacct, one per start)."""
    since = time.strftime("%Y-%m-%dT%H:%M:%S")  # accounting outlives test clusters: job ids recur
    proc = subprocess.Popen(
        [*SNAKEMAKE_STEADY, *args], cwd=wf, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        job_id = _running_train_job(cluster, wf / "results" / EXPERIMENT / "training/state", proc)
        _requeue(cluster, job_id)
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    history = cluster.command("sacct", "-D", "-X", "-P", "-n", "-o", "State", "-S", since, "-j", job_id).split()
    return proc.returncode, out, job_id, history


def test_a_preempted_training_resumes_and_a_failing_infer_keeps_it_finished(cluster, slurm_run):
    """Two things a shared cluster does to a run's allocation, in one training (to keep the suite short).

    Preemption, by `scontrol requeue` (the same path through SLURM): the job goes back to the queue and
    restarts, Snakemake keeps waiting, and training goes on from its last complete epoch, in the same
    job. Then one of the run's test videos is corrupt: the run fails naming the rule, the run and the
    logs; the profile's retry links the training finished in the first allocation instead of training
    again, and once the video is fixed the next run trains nothing."""
    wf, _ = slurm_run
    exp = wf / "results" / EXPERIMENT
    for stale in (exp / "training/state").glob("*"):  # the earlier 1-epoch run's resume state
        stale.unlink()
    video = wf / "resources/demo_project/videos/crane_hook_1_short.mp4"
    intact = video.read_bytes()
    video.write_bytes(b"\x00not a video\x00" * 64)
    overlay = [*OVERLAY, f"training={{epochs: 2, {SLOW_EPOCHS}}}"]
    target = f"results/{EXPERIMENT}/experiment_summary.json"
    returncode, out, job_id, history = _run_requeued_after_first_epoch(cluster, wf, [*overlay, "--", target], cluster.env)
    # the preempted job was requeued, not resubmitted (that it resumed from epoch 1 of 2, the training
    # record says at the end: the retry started the rule's log afresh)
    assert history == ["REQUEUED", "FAILED"], history
    # then its inference failed: the run fails naming the rule, the run and the logs
    assert returncode != 0
    assert "Error in rule infer" in out or "Error in group" in out, out[-3000:]
    infer_log = f"logs/infer/{EXPERIMENT}/crane_hook_1_short.log"
    assert infer_log in out and "crane_hook_1_short.mp4: cannot open the video" in (wf / infer_log).read_text()
    assert ".snakemake/slurm_logs/" in out  # the allocation's own log
    jobs = jobs_by_rule(cluster, submitted_jobs(out))
    # the profile's retry: the run's allocation was submitted twice (the requeue is not a submission),
    # each asking for one GPU, and both failed
    assert submitted_jobs(out)[0] == job_id and [r["State"] for r in jobs[GPU_GROUP]] == ["FAILED", "FAILED"], jobs
    assert all("gres/gpu=1," in r["ReqTRES"] + "," for r in jobs[GPU_GROUP])
    assert not (exp / "inference/crane_hook_1_short_detections.json").exists()
    # Snakemake deleted the outputs of every job of the failed group; the training finished in the first
    # allocation is kept beside them, and the retry linked it again instead of training a second time
    state = exp / "training/state"
    assert (state / "finished.json").is_file() and (state / "checkpoint_best_total.pth").stat().st_size > 0
    retry = _last_job_log(wf / f"logs/train/{EXPERIMENT}.log")
    assert "a finished training with the same settings, data and code is there" in retry, retry

    video.write_bytes(intact)
    proc = on_cluster(cluster, wf, *overlay, "--", target)
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert len(jobs[GPU_GROUP]) == 1 and "train" not in jobs
    last = _last_job_log(wf / f"logs/train/{EXPERIMENT}.log")
    assert "nothing is trained" in last and "rfdetr train() arguments" not in last, last
    summary = json.loads((exp / "training/training_summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["resumed_after_epochs"] == 1
    assert (exp / "inference/crane_hook_1_short_detections.json").stat().st_size > 0


def test_identical_runs_train_once_and_the_second_takes_no_gpu_allocation(cluster, tmp_path):
    """Two experiments that draw the same data: one training, in one GPU allocation. The second run's
    training, evaluation and inference are the first's, linked where Snakemake runs (local jobs that
    check the link by content): the second run waits in no GPU queue at all."""
    wf = copy_workflow(tmp_path / "identical")
    experiments = wf / "config/identical"
    experiments.mkdir()
    for name in ("same_a", "same_b"):
        (experiments / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{person: 1.0}}\n")
    overlay = [
        *PROFILE,
        *DEMO,
        "--config",
        "experiments_dir=config/identical",
        "test_videos=[crane_hook_1_short.mp4]",
        "statistics={pairs: [[same_a, same_b]], bootstrap_samples: 20}",
    ]
    proc = on_cluster(cluster, wf, *overlay)
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert {rule: len(rows) for rule, rows in jobs.items()} == {"prepare_dataset": 2, "gpu_same_a": 1, "compare_pairs": 1}
    (first,) = jobs["gpu_same_a"]
    assert first["Rules"] == ["evaluate", "infer", "train"]
    assert "rfdetr train() arguments" in (wf / "logs/train/same_a.log").read_text()
    log_b = (wf / "logs/train/same_b.log").read_text()
    assert "the same training inputs as run same_a" in log_b and "rfdetr train() arguments" not in log_b
    assert "running in SLURM job" not in log_b  # where Snakemake runs
    assert json.loads((wf / "results/same_b/training/training_summary.json").read_text())["linked_by_plan"] is True
    for log in ("logs/evaluate/same_b.log", "logs/infer/same_b/crane_hook_1_short.log"):
        assert "run same_b holds run same_a's training (the same checkpoint" in (wf / log).read_text()


def _running_pack(cluster: SlurmCluster, wf: Path, pack: str, runs: list[str], proc: subprocess.Popen) -> str:
    """The SLURM job id of a running pack once each of its runs has checkpointed its first epoch."""
    deadline, last = time.time() + 600, None
    while time.time() < deadline:
        assert proc.poll() is None, "the workflow ended before the pack's first epochs were checkpointed"
        sizes = [
            (ckpt.stat().st_size if ckpt.exists() else -1)
            for ckpt in (wf / "results" / run / "training/state/last.ckpt" for run in runs)
        ]
        if min(sizes) > 0 and sizes == last:
            running = [line.split("|") for line in cluster.command("squeue", "-h", "-t", "R", "-o", "%i|%k").splitlines()]
            (job_id,) = [job for job, comment in running if comment == f"rule_train_{pack}"]
            return job_id
        last = sizes
        time.sleep(1.0)
    raise AssertionError("the pack's runs did not checkpoint their first epochs in time")


def test_runs_packed_two_to_an_allocation_train_side_by_side_resume_together_and_equal_unpacked_runs(cluster, tmp_path):
    """gpu_allocation.runs_per_gpu 2: a 4-run study (2 experiments x 2 replicates) takes 2 GPU
    allocations, each asking for one GPU and the CPUs and memory of 2 runs; both runs of a pack train at
    once, and a requeued pack resumes both from their last epoch. Then the same study unpacked (1 run
    per allocation) links the same trainings, evaluations and inferences: the same files, nothing
    trained again."""
    wf = copy_workflow(tmp_path / "packed")
    overlay = [
        *OVERLAY,
        "replicates=2",
        "test_videos=[crane_hook_1_short.mp4]",
        "statistics={bootstrap_samples: 20}",
        f"training={{epochs: 2, {SLOW_EPOCHS}}}",
    ]
    packs = {"pack1": [EXPERIMENT, f"{EXPERIMENT}__rep1"], "pack2": ["exp_person_25", "exp_person_25__rep1"]}
    note = "; ".join(f"{pack} = {', '.join(runs)}" for pack, runs in packs.items())
    packed = [*overlay, "gpu_allocation={runs_per_gpu: 2}"]
    assert (
        f"note: 4 runs packed into 2 GPU allocations (gpu_allocation.runs_per_gpu): {note}" in snakemake(wf, "-n", *packed).stdout
    )

    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    proc = subprocess.Popen(
        [*SNAKEMAKE_STEADY, *packed], cwd=wf, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        job_id = _running_pack(cluster, wf, "pack1", packs["pack1"], proc)
        _requeue(cluster, job_id)
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    history = cluster.command("sacct", "-D", "-X", "-P", "-n", "-o", "State", "-S", since, "-j", job_id).split()
    assert history == ["REQUEUED", "COMPLETED"], history
    jobs = jobs_by_rule(cluster, submitted_jobs(out))
    gpu_jobs = {name: rows for name, rows in jobs.items() if any("gres/gpu" in r["ReqTRES"] for r in rows)}
    assert {name: len(rows) for name, rows in gpu_jobs.items()} == {"train_pack1": 1, "train_pack2": 1}, jobs
    for (row,) in gpu_jobs.values():
        # one GPU; the CPUs of 2 runs (the profile's 8 each) and their memory (8 GB per CPU)
        assert "gres/gpu=1," in row["ReqTRES"] + "," and "cpu=16," in row["ReqTRES"] + ",", row
        assert "--gpus=h100:1 " in row["SubmitLine"] and " --mem 128000 " in row["SubmitLine"], row["SubmitLine"]
    assert {"train", "evaluate", "infer"}.isdisjoint(jobs)
    # the pack's log is its last start's (Snakemake starts a job's logs afresh)
    pack_log = (wf / "logs/packs/pack1.log").read_text()
    assert f"training 2 run(s) side by side on one GPU: {', '.join(packs['pack1'])}" in pack_log, pack_log
    for run in packs["pack1"]:
        log = (wf / f"logs/train/{run}.log").read_text()
        assert "resuming from last.ckpt: epoch 1 was complete, training continues with epoch 2" in log, log[-3000:]
        summary = json.loads((wf / f"results/{run}/training/training_summary.json").read_text())
        assert (summary["epochs_run"], summary["resumed_after_epochs"]) == (2, 1), summary
    for pack, members in packs.items():  # a packed run's timings are its pack's job's
        for run in members:
            jobs_of_run = json.loads((wf / f"results/{run}/experiment_summary.json").read_text())["jobs"]
            assert jobs_of_run[f"{pack} (train, evaluate and infer of 2 runs)"] is not None, jobs_of_run
            assert not {"train", "evaluate"} & set(jobs_of_run), jobs_of_run
    runs = [run for members in packs.values() for run in members]
    files = ["training/checkpoint_best_total.pth", "training/training_summary.json", "evaluation/predictions.json"]
    files.append("inference/crane_hook_1_short_detections.json")
    made = {(run, f): (wf / "results" / run / f).read_bytes() for run in runs for f in files}

    # unpacked: one allocation per run, whose jobs link what the packs made (nothing is trained)
    proc = on_cluster(cluster, wf, *overlay)
    jobs = jobs_by_rule(cluster, submitted_jobs(proc.stdout))
    assert sorted(name for name in jobs if name.startswith("gpu_")) == sorted(f"gpu_{run}" for run in runs), jobs
    for run in runs:
        last = _last_job_log(wf / f"logs/train/{run}.log")
        assert "nothing is trained" in last and "rfdetr train() arguments" not in last, last
    assert {key: (wf / "results" / key[0] / key[1]).read_bytes() for key in made} == made


def test_a_run_on_two_gpus_is_one_allocation_that_trains_two_ranks_and_resumes_after_preemption(cluster, slurm_run):
    """training.gpus 2: the run's allocation asks SLURM for 2 GPUs and twice the CPUs and memory of a
    one-GPU training (the profile's 8 per GPU, 8 GB per CPU) in one task, and its training starts both
    ranks itself (here 2 CPU processes, the test node's GPUs being count-only). Requeued after its
    first epoch, it resumes on both ranks and stops early where rfdetr's rule says; rank 0 alone
    writes the workflow's files, and the images seen count both ranks. Last in this file: it
    retrains the run the earlier tests used."""
    wf, _ = slurm_run
    exp = wf / "results" / EXPERIMENT
    for stale in (exp / "training/state").glob("*"):  # the earlier trainings' state
        stale.unlink()
    settings = f"training={{gpus: 2, epochs: 3, patience: 1, {SLOW_EPOCHS}}}"
    overlay = [*OVERLAY, settings]
    target = f"results/{EXPERIMENT}/training/training_summary.json"
    # the tests' CPU ranks, one thread each on a small machine
    env = dict(cluster.env, DETEXP_CPU_DDP="1", OMP_NUM_THREADS="1")
    returncode, out, job_id, history = _run_requeued_after_first_epoch(cluster, wf, [*overlay, "--", target], env)
    assert returncode == 0, out[-3000:]
    assert submitted_jobs(out) == [job_id]  # requeued, not resubmitted
    assert history == ["REQUEUED", "COMPLETED"], history
    (row,) = jobs_by_rule(cluster, [job_id])[GPU_GROUP]
    assert row["Rules"] == ["train"], row
    assert "gres/gpu=2," in row["ReqTRES"] + "," and "cpu=16," in row["ReqTRES"] + ",", row
    line = row["SubmitLine"]
    assert "--gpus=h100:2 " in line and " --mem 128000 " in line and "--ntasks" not in line, line

    log = (wf / f"logs/train/{EXPERIMENT}.log").read_text()
    # both GPUs of the allocation are the training's; it resumed on both ranks from epoch 1
    assert "training RF-DETR nano on 2 x cpu (DDP, CUDA_VISIBLE_DEVICES 0,1)" in log, log[-3000:]
    assert "resuming from last.ckpt: epoch 1 was complete, training continues with epoch 2" in log, log[-3000:]
    summary = json.loads((wf / target).read_text())
    epochs = summary["epochs_run"]
    # rank 0 alone starts, records and writes: one record of the finished training, one start per
    # rank-0 start (the launched rank runs the rule's script again, and says nothing of its own)
    assert log.count(f"trained {epochs} epoch(s), {epochs - 1} in this run") == 1, log[-3000:]
    assert log.count("rfdetr train() arguments") == log.count("training RF-DETR nano on 2 x cpu")
    metrics = pd.read_csv(exp / "training/metrics.csv").dropna(subset=["val/mAP_50_95"])
    assert sorted(metrics["epoch"]) == list(range(epochs))  # one row an epoch, not one a rank
    # early stopping across the requeue, by rfdetr's rule: patience 1 on max(mAP, EMA mAP), which must
    # beat the best by 0.001 (its state restored on both ranks from the resume checkpoint)
    effective = metrics[["val/mAP_50_95", "val/ema_mAP_50_95"]].max(axis=1).tolist()
    best, expected = effective[0], 3
    for epoch, value in enumerate(effective[1:], start=1):
        if value - 0.001 > best:
            best = value
        else:
            expected = epoch + 1
            break
    assert epochs == expected and summary["early_stopped"] == (expected < 3), (effective, summary)
    assert not (exp / "training/training.lock").exists()
    # every rank's images, with the repeats rfdetr adds to a set too small for 2 processes of 4
    entries = summary["train_images"]
    repeated = re.search(r"Repeating training samples because dataset is too small for DDP: (\d+) < (\d+)", log)
    assert repeated and (int(repeated[1]), int(repeated[2])) == (entries, 5 * 4 * 2), log[-3000:]
    assert (summary["gpus"], summary["effective_batch"], summary["resumed_after_epochs"]) == (2, 8, 1)
    assert summary["training_images_seen"] == epochs * images_per_epoch(entries, 4, 2)
    # the 2-GPU training is kept for 2 GPUs and is not the 1-GPU one (N is part of its digest)
    dry = [*OVERLAY, settings, "--", target]
    assert not job_counts(snakemake(wf, "-n", *dry, env=env).stdout)
    one = [a.replace("gpus: 2", "gpus: 1") for a in dry]
    assert "train" in job_counts(snakemake(wf, "-n", *one, env=env).stdout)
