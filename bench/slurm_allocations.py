"""GPU allocations and wall time of a small study under the shipped SLURM profile, on the project's
real single-node test cluster (tests/slurm_cluster.py; needs root on Debian, as the SLURM tests do).

The demo project, two experiments, two test videos, one epoch each. Three steps, as a user would
take them: the whole study; then a changed `inference.threshold`; then a third test video. For each
step: the wall time from the first submission to `results/comparison.csv`, and what SLURM's
accounting says was submitted (all allocations, those with a GPU, and the GPUs each asked for).

Side by side, steps interleaved, each in its own copy of the workflow: the shipped profile (a run's
GPU jobs in one allocation) and the obvious alternative, the same profile without its job groups
(one allocation per job, as the workflow had at first).

    python bench/slurm_allocations.py   # about 10 minutes on 2 cores
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import copy_workflow, snakemake  # noqa: E402
from slurm_cluster import SlurmCluster  # noqa: E402
from test_slurm import OVERLAY, submitted_jobs  # noqa: E402

# The SLURM tests' overlay (demo project, two experiments, quick status checks) without their profile:
# each variant below names its own.
BASE = OVERLAY[2:]


def step(cluster: SlurmCluster, wf: Path, name: str, *extra: str) -> dict[str, object]:
    summaries = {p: p.stat().st_mtime_ns for p in wf.glob("results/*/training/training_summary.json")}
    start = time.perf_counter()
    proc = snakemake(wf, *BASE, *extra, env={"SLURM_CONF": str(cluster.conf)}, timeout=3600)
    wall = time.perf_counter() - start
    job_ids = submitted_jobs(proc.stdout)
    rows = cluster.sacct("JobID", "ReqTRES", "Comment", job_ids=job_ids) if job_ids else []
    gpus = [int(m[1]) for r in rows if (m := re.search(r"gres/gpu=(\d+)", r["ReqTRES"]))]
    return {
        "step": name,
        "wall_s": round(wall, 1),
        "allocations": len(rows),
        "gpu_allocations": len(gpus),
        "gpus_per_gpu_allocation": sorted(set(gpus)),
        "trainings": sum(summaries.get(p) != p.stat().st_mtime_ns for p in wf.glob("results/*/training/training_summary.json")),
        "what": sorted(r["Comment"].split("_wildcards_")[0] for r in rows),
    }


def per_job_profile(wf: Path) -> str:
    """profiles/slurm without its job groups: every job its own allocation."""
    profile = yaml.safe_load((wf / "profiles/slurm/config.yaml").read_text())
    del profile["groups"], profile["group-components"]
    (wf / "profiles/slurm_per_job").mkdir()
    (wf / "profiles/slurm_per_job/config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return "profiles/slurm_per_job"


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="slurm_bench_"))
    cluster = SlurmCluster(base / "cluster").start()
    variants = {}
    for name in ("one allocation per run", "one allocation per job"):
        wf = copy_workflow(base / name.replace(" ", "_"))
        profile = "profiles/slurm" if name.endswith("run") else per_job_profile(wf)
        variants[name] = (wf, ("--profile", profile))
    steps = [
        ("whole study (2 experiments, 2 videos)", None, []),
        ("inference.threshold changed", "inference:\n  threshold: 0.03\n", []),
        (
            "a third test video",
            "inference:\n  threshold: 0.03\ntest_videos: [crane_hook+human_short.mp4, crane_hook_1_short.mp4, third_video.mp4]\n",
            ["third_video.mp4"],
        ),
    ]
    results = []
    try:
        for name, overlay, new_videos in steps:
            for variant, (wf, profile) in variants.items():
                extra: list[str] = []
                if overlay:
                    (wf / "config/bench_overlay.yaml").write_text(overlay)
                    extra = ["--configfile", "config/demo.yaml", "config/bench_overlay.yaml"]
                videos = wf / "resources/demo_project/videos"
                for video in new_videos:
                    if not (videos / video).exists():
                        shutil.copy2(videos / "crane_hook_1_short.mp4", videos / video)
                results.append({"variant": variant, **step(cluster, wf, name, *profile, *extra)})
    finally:
        cluster.stop()
    print(f"{'step':40} {'variant':24} {'wall s':>7} {'allocs':>6} {'GPU allocs':>10} {'GPUs each':>9} trainings")
    for r in results:
        print(
            f"{r['step']:40} {r['variant']:24} {r['wall_s']:7.1f} {r['allocations']:6} {r['gpu_allocations']:10} "
            f"{str(r['gpus_per_gpu_allocation']):>9} {r['trainings']}"
        )
        print("   ", ", ".join(r["what"]))
    for i in range(0, len(results), 2):
        grouped, per_job = results[i], results[i + 1]
        print(
            f"{grouped['step']}: GPU allocations {per_job['gpu_allocations']} -> {grouped['gpu_allocations']}, "
            f"wall time per job / per run {per_job['wall_s'] / grouped['wall_s']:.2f}"
        )


if __name__ == "__main__":
    main()
