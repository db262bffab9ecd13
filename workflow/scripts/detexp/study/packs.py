"""Runs packed into shared GPU allocations (gpu_allocation.runs_per_gpu): which runs share one, and
the time the pack's training gets. Read as the DAG is built; the pack job itself is detexp.packing.

A pack is k replicates of one experiment at one sweep point (the same data size and settings, so its
trainings take about as long), in the order of their names; the replicates left over (fewer than k
at a point) are packed together, in name order. Only runs that train themselves on one GPU are
packed: a run on several GPUs has an allocation of its own, and a run that links another run's
training takes no GPU at all (detexp.train.linked_runs).

A pack whose runs change runs again (Snakemake records its job's settings, every member's), linking
its runs' finished trainings, evaluations and inferences (nothing is computed again, detexp.test.reuse).
So packs are kept stable: adding an experiment or a sweep point leaves the other points' full packs
as they are, and so does adding replicates where a point's count was a multiple of k; only the packs
of left-over replicates can change.
"""

from __future__ import annotations

from .. import layout
from .config import CONFIG_SOURCE
from .resources import MIN_TRAINING_MINUTES
from .validation import ConfigError

# The Snakemake benchmark of a pack's job (train_<pack>).
PACK_BENCHMARK = "benchmarks/packs/{pack}.tsv"


def plan_packs(points: dict[str, str], runs_per_gpu: int) -> dict[str, list[str]]:
    """pack name -> its runs, from each run's experiment point (run -> Run.point): each point's runs in
    name order, `runs_per_gpu` to a pack, then the points' left-over runs together in name order.
    Nothing is packed at runs_per_gpu 1, and a run left alone keeps an allocation of its own. Packs are
    named in the order of their first runs."""
    if runs_per_gpu < 2:
        return {}
    by_point: dict[str, list[str]] = {}
    for run in sorted(points):
        by_point.setdefault(points[run], []).append(run)
    chunks: list[list[str]] = []
    left_over: list[str] = []
    for point in sorted(by_point):
        runs = by_point[point]
        whole = len(runs) - len(runs) % runs_per_gpu
        chunks += [runs[i : i + runs_per_gpu] for i in range(0, whole, runs_per_gpu)]
        left_over += runs[whole:]
    chunks += [left_over[i : i + runs_per_gpu] for i in range(0, len(left_over), runs_per_gpu)]
    # a pack of one run is that run's own allocation: it keeps the plain rules
    packs = sorted((chunk for chunk in chunks if len(chunk) > 1), key=lambda chunk: chunk[0])
    width = len(str(len(packs)))
    return {f"pack{n:0{width}d}": chunk for n, chunk in enumerate(packs, 1)}


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


def run_benchmarks(run: str, videos: list[str], pack: str | None = None, pack_size: int = 0) -> dict[str, str]:
    """The benchmark files of a run's jobs, named by job (layout.BENCHMARKS). A packed run's GPU jobs
    are its pack's one job (`pack`, of `pack_size` runs), named so: never an earlier unpacked job's files."""
    if pack is not None:
        return {
            "prepare_dataset": layout.BENCHMARKS["prepare_dataset"].format(run=run),
            f"{pack} (train, evaluate and infer of {pack_size} runs)": PACK_BENCHMARK.format(pack=pack),
        }
    paths = {job: pattern.format(run=run) for job, pattern in layout.BENCHMARKS.items() if "{video}" not in pattern}
    paths.update({f"infer {video}": layout.BENCHMARKS["infer"].format(run=run, video=video) for video in videos})
    return paths
