"""Runs packed into shared GPU allocations (gpu_allocation.runs_per_gpu): which runs share one, and
the time the pack's training gets. Read as the DAG is built; the pack job itself is detexp.packing.

A pack is k runs in the order of their names. Only runs that train themselves on one GPU are packed:
a run on several GPUs has an allocation of its own, and a run that links another run's training takes
no GPU at all (detexp.linked_runs). Adding a run to a packed study may move the runs named after it to
other packs: those packs run again, and link their runs' finished trainings, evaluations and
inferences (nothing is computed again, detexp.reuse).
"""

from __future__ import annotations

from . import layout
from .config import CONFIG_SOURCE
from .resources import MIN_TRAINING_MINUTES
from .validation import ConfigError

# The Snakemake benchmark of a pack's job (train_<pack>).
PACK_BENCHMARK = "benchmarks/packs/{pack}.tsv"


def plan_packs(runs: list[str], runs_per_gpu: int) -> dict[str, list[str]]:
    """pack name -> its runs: `runs` in name order, `runs_per_gpu` to a pack (the last may hold fewer).
    Nothing is packed at runs_per_gpu 1, or where fewer than two runs could share an allocation."""
    ordered = sorted(runs)
    if runs_per_gpu < 2 or len(ordered) < 2:
        return {}
    chunks = [ordered[i : i + runs_per_gpu] for i in range(0, len(ordered), runs_per_gpu)]
    # a pack of one run is that run's own allocation: it keeps the plain rules
    width = len(str(len(chunks)))
    return {f"pack{n:0{width}d}": chunk for n, chunk in enumerate(chunks, 1) if len(chunk) > 1}


def pack_minutes(allocation: dict[str, int], n_videos: int, pack_size: int) -> int:
    """The minutes a pack's trainings get: what its runs' evaluations and inferences, one after another,
    leave of time_limit_minutes (the whole pack asks for time_limit_minutes)."""
    after = pack_size * (allocation["evaluate_minutes"] + n_videos * allocation["infer_minutes_per_video"])
    train = allocation["time_limit_minutes"] - after
    if train < MIN_TRAINING_MINUTES:
        raise ConfigError(
            f"{CONFIG_SOURCE}: gpu_allocation: runs_per_gpu {allocation['runs_per_gpu']} leaves {train} minute(s) of "
            f"time_limit_minutes {allocation['time_limit_minutes']} for the trainings of a pack of {pack_size} runs, "
            f"after their evaluations and inferences ({after} minutes) - at least {MIN_TRAINING_MINUTES} are needed: "
            "lower runs_per_gpu, evaluate_minutes or infer_minutes_per_video, or raise time_limit_minutes"
        )
    return train


def describe_packs(packs: dict[str, list[str]], shown: int = 5) -> str:
    """The dry run's line: each pack (the first `shown`) and its runs."""
    listed = [f"{name} = {', '.join(runs)}" for name, runs in list(packs.items())[:shown]]
    more = f"; and {len(packs) - shown} more" if len(packs) > shown else ""
    runs = sum(len(r) for r in packs.values())
    allocations = f"{len(packs)} GPU allocation{'s' if len(packs) > 1 else ''}"
    return f"{runs} runs packed into {allocations} (gpu_allocation.runs_per_gpu): {'; '.join(listed)}{more}"


def run_benchmarks(run: str, videos: list[str], packs: dict[str, list[str]]) -> dict[str, str]:
    """The benchmark files of a run's jobs, named by job (layout.BENCHMARKS). A packed run's GPU jobs
    are its pack's one job, named so: never an earlier unpacked job's files."""
    pack = next((name for name, runs in packs.items() if run in runs), None)
    if pack is not None:
        return {
            "prepare_dataset": layout.BENCHMARKS["prepare_dataset"].format(run=run),
            f"{pack} (train, evaluate and infer of {len(packs[pack])} runs)": PACK_BENCHMARK.format(pack=pack),
        }
    paths = {job: pattern.format(run=run) for job, pattern in layout.BENCHMARKS.items() if "{video}" not in pattern}
    paths.update({f"infer {video}": layout.BENCHMARKS["infer"].format(run=run, video=video) for video in videos})
    return paths
