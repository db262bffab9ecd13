"""GPU allocations and wall time of a small study under the shipped SLURM profile, on the project's
real single-node test cluster (tests/slurm_cluster.py; needs root on Debian, as the SLURM tests do).

The demo project, two experiments, two test videos, one epoch each. Three steps, as a user would
take them: the whole study; then a changed `inference.threshold`; then a third test video. For each
step: the wall time from the first submission to `results/comparison.csv`, and what SLURM's
accounting says was submitted (all allocations, those with a GPU, and the GPUs each asked for).

    python bench/slurm_allocations.py   # about 15-25 minutes on 2 cores
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import copy_workflow, snakemake  # noqa: E402
from slurm_cluster import SlurmCluster  # noqa: E402

EXPERIMENTS = ["exp_person_100", "exp_person_25"]
BASE = (
    "--profile", "profiles/slurm",
    "--configfile", "config/demo.yaml",
    "--config", f"experiments=[{','.join(EXPERIMENTS)}]",
    "--slurm-init-seconds-before-status-checks", "2",
)


def step(cluster: SlurmCluster, wf: Path, name: str, *extra: str) -> dict[str, object]:
    summaries = {p: p.stat().st_mtime_ns for p in wf.glob("results/*/training/training_summary.json")}
    start = time.perf_counter()
    proc = snakemake(wf, *BASE, *extra, env={"SLURM_CONF": str(cluster.conf)}, timeout=3600)
    wall = time.perf_counter() - start
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", proc.stdout)
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


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="slurm_bench_"))
    cluster = SlurmCluster(base / "cluster").start()
    try:
        wf = copy_workflow(base / "wf")
        results = [step(cluster, wf, "whole study (2 experiments, 2 videos)")]
        overlay = wf / "config/bench_threshold.yaml"
        overlay.write_text("inference:\n  threshold: 0.03\n")
        results.append(step(cluster, wf, "inference.threshold changed", "--configfile", "config/demo.yaml", str(overlay.relative_to(wf))))
        videos = wf / "resources/demo_project/videos"
        shutil.copy2(videos / "crane_hook_1_short.mp4", videos / "third_video.mp4")
        overlay.write_text(
            "inference:\n  threshold: 0.03\n"
            "test_videos: [crane_hook+human_short.mp4, crane_hook_1_short.mp4, third_video.mp4]\n"
        )
        results.append(step(cluster, wf, "a third test video", "--configfile", "config/demo.yaml", str(overlay.relative_to(wf))))
    finally:
        cluster.stop()
    print(f"{'step':42} {'wall s':>7} {'allocs':>6} {'GPU allocs':>10} {'GPUs each':>9} trainings")
    for r in results:
        print(f"{r['step']:42} {r['wall_s']:7.1f} {r['allocations']:6} {r['gpu_allocations']:10} {str(r['gpus_per_gpu_allocation']):>9} {r['trainings']}")
        print("   ", ", ".join(r["what"]))


if __name__ == "__main__":
    main()
