"""Benchmark: trainings per GPU-hour with k runs packed on one GPU (gpu_allocation.runs_per_gpu).

Generates a demo project (640x480 frames) and prepares one dataset; then, for each k (default 1, 2,
4), interleaved, several repeats: k trainings of the same settings (other seeds) started together as a
pack starts them (detexp.packing.start_step, each a process of its own; under CUDA MPS where
nvidia-cuda-mps-control exists), timed until the last one ends. Prints per k: trainings per GPU-hour
(k x 3600 / the pack's wall time), its ratio to k = 1, each training's own time and the largest peak
GPU memory of one training (torch's, per process). The issue's goal: at least 2x at k = 4 for Nano.
Usage: python bench/pack_throughput.py [--model nano] [--resolution 384] [--epochs 3] [--ks 1 2 4] [--repeats 2]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_step import CLASSES, REPO, demo_dataset, training_parser, workflow_training  # noqa: E402

sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from detexp.packing import mps_daemon, start_step  # noqa: E402
from detexp.train.shared_training import TrainingPaths  # noqa: E402


def training_arguments(args, dataset: Path, run_dir: Path, seed: int) -> dict:
    """What a pack's train step gets (detexp.packing._train) for one run in `run_dir`."""
    paths = TrainingPaths.of_run(run_dir)
    return {
        "dataset_dir": str(dataset),
        "paths": {name: str(value) if value is not None else None for name, value in vars(paths).items()},
        "classes": CLASSES,
        "training": workflow_training(args),
        "seed": seed,
        "pretrain_path": None,
        "same_as": None,
    }


def run_pack_of(args, k: int, dataset: Path, out: Path) -> tuple[float, list[float], float]:
    """k trainings side by side: the pack's wall time, each training's, and the largest peak memory."""
    runs = {f"r{i}": out / f"r{i}" for i in range(k)}
    # the machine's cores shared out, as a pack job shares its CPUs (train_pack.py)
    threads = str(max(1, (os.cpu_count() or 1) // k))
    with mps_daemon(print) as mps, tempfile.TemporaryDirectory() as spec_dir:
        start = time.perf_counter()
        procs = [
            start_step(
                "train",
                training_arguments(args, dataset, run_dir, seed=42 + i),
                str(out / f"{run}.log"),
                {**mps, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads},
                Path(spec_dir),
            )
            for i, (run, run_dir) in enumerate(runs.items())
        ]
        codes = [proc.wait() for proc in procs]
        wall = time.perf_counter() - start
    if any(codes):
        raise SystemExit(f"a training failed ({codes}): {out}/*.log")
    summaries = [json.loads((run_dir / "training/training_summary.json").read_text()) for run_dir in runs.values()]
    return wall, [s["wall_time_s"] for s in summaries], max(s.get("peak_gpu_memory_mb") or 0 for s in summaries)


def main() -> None:
    parser = training_parser(__doc__, epochs=3)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_images = demo_dataset(tmp, args.clips)
        results: dict[int, list[tuple[float, list[float], float]]] = {k: [] for k in args.ks}
        for r in range(args.repeats):
            for k in args.ks if r % 2 == 0 else reversed(args.ks):
                results[k].append(run_pack_of(args, k, tmp / "dataset", tmp / f"k{k}_{r}"))
                wall, each, mem = results[k][-1]
                print(
                    f"  repeat {r} k={k}: pack {wall:.0f} s, trainings {', '.join(f'{w:.0f}' for w in each)} s, peak {mem:.0f} MiB",
                    flush=True,
                )
    rate = {k: statistics.median(k * 3600 / wall for wall, _, _ in v) for k, v in results.items()}
    print(
        f"{args.model} at {args.resolution}px, {n_images} train images, {args.epochs} epochs, batch {args.batch_size}, {args.repeats} repeats (median)"
    )
    for k, v in results.items():
        each = statistics.median(w for _, ws, _ in v for w in ws)
        mem = max(m for _, _, m in v)
        print(
            f"  k={k}: {rate[k]:6.1f} trainings per GPU-hour ({rate[k] / rate[args.ks[0]]:.2f}x k={args.ks[0]}), a training {each:.0f} s, peak {mem:.0f} MiB"
        )


if __name__ == "__main__":
    main()
