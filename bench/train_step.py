"""Benchmark: the workflow's train step against a bare rfdetr train() call on the same dataset.

Generates a demo project (640x480 frames), prepares one dataset, then alternates, several times:
  - bare: RFDETR<model>(pretrain_weights=None).train(dataset_dir, epochs, batch_size, lr,
    resolution, output_dir, seed, num_workers) with rfdetr's defaults for everything else;
  - workflow: detexp.train.training.train, as the train rule's script calls it (its own process).
Each in a fresh process. Prints training images/s (images x epochs / train() wall time),
peak GPU memory, and the ratio workflow / bare.
Usage: python bench/train_step.py [--model nano] [--resolution 384] [--epochs 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from detexp.data.dataset import prepare_dataset  # noqa: E402
from detexp.data.formats import read_project  # noqa: E402
from detexp.data.sampling import assign_splits  # noqa: E402
from detexp.data.demo import make_demo_project  # noqa: E402
from detexp.study.models import MODEL_VARIANTS  # noqa: E402
from detexp import layout  # noqa: E402

CLASSES = ["crane hook", "person"]

BARE = """
import json, sys, time, torch, rfdetr
a = json.loads(sys.argv[1])
model = getattr(rfdetr, a["cls"])(pretrain_weights=None)
if torch.cuda.is_available():
    torch.cuda.reset_peak_memory_stats()
start = time.perf_counter()
model.train(dataset_dir=a["dataset"], output_dir=a["out"], epochs=a["epochs"], batch_size=a["batch"], lr=1e-4,
            resolution=a["res"], seed=42, num_workers=a["workers"])
wall = time.perf_counter() - start
mem = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
print("RESULT", json.dumps({"wall": wall, "mem": mem}))
"""

# What the train rule's script runs: detexp.train.training.train, into the paths a run folder has.
WORKFLOW = """
import json, sys
from detexp.train.training import TrainingPaths, train
a = json.loads(sys.argv[1])
train(a["dataset"], TrainingPaths.of_run(a["run"]), a["classes"], a["training"], seed=42)
"""


def run_bare(args, dataset: Path, out: Path) -> tuple[float, float | None]:
    spec = {
        "cls": MODEL_VARIANTS[args.model].rfdetr_class,
        "dataset": str(dataset),
        "out": str(out),
        "epochs": args.epochs,
        "batch": args.batch_size,
        "res": args.resolution,
        "workers": args.num_workers,
    }
    proc = subprocess.run([sys.executable, "-c", BARE, json.dumps(spec)], capture_output=True, text=True)
    line = [out for out in proc.stdout.splitlines() if out.startswith("RESULT ")]
    if proc.returncode or not line:
        raise SystemExit(f"bare train failed:\n{proc.stderr[-3000:]}")
    result = json.loads(line[0][7:])
    return result["wall"], result["mem"]


def workflow_training(args, settings: dict | None = None) -> dict:
    """The `training` settings of the benchmarks' workflow trainings (with further `settings`)."""
    return {
        "model": args.model,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "image_size": args.resolution,
        "lr": 1e-4,
        "patience": None,
        "pretrain_weights": None,
        "multi_scale": True,
        "num_workers": args.num_workers,
        "extra": {},
        **(settings or {}),
    }


def run_workflow(args, dataset: Path, out: Path, settings: dict | None = None) -> tuple[float, float | None]:
    """The workflow's training (with further training `settings`): its wall time and peak GPU memory."""
    training = workflow_training(args, settings)
    # A study folder of its own: in a shared one, a repeat would link the finished training of an
    # identical earlier run (the workflow's reuse) instead of training.
    run_dir = out / "study" / "run"
    spec = {"dataset": str(dataset), "run": str(run_dir), "classes": CLASSES, "training": training}
    proc = subprocess.run(
        [sys.executable, "-c", WORKFLOW, json.dumps(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")},
    )
    if proc.returncode:
        raise SystemExit(f"workflow train failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((run_dir / "training/training_summary.json").read_text())
    if summary.get("same_training_as"):
        raise SystemExit(f"{run_dir}: linked the training of run {summary['same_training_as']} instead of training")
    return summary["wall_time_s"], summary["peak_gpu_memory_mb"]


def training_parser(description: str, epochs: int) -> argparse.ArgumentParser:
    """The command line the training benchmarks share: model, resolution, epochs, batch, workers,
    demo size and repeats."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nano", choices=sorted(MODEL_VARIANTS))
    parser.add_argument("--resolution", type=int, default=384)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=20, help="demo clips of 10 frames each")
    parser.add_argument("--repeats", type=int, default=2)
    return parser


def demo_dataset(tmp: Path, clips: int) -> int:
    """A demo project of `clips` clips of 10 640x480 frames under tmp/project, prepared into
    tmp/dataset with every frame; its number of training images."""
    make_demo_project(tmp / "project/_annotations.coco.json", {}, n_clips=clips, frames_per_clip=10, width=640, height=480)
    project = read_project(tmp / "project", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    prepare_dataset(project, assign_splits(project.frames, 0.15, 0.15, 42), {c: 1.0 for c in CLASSES}, 42, tmp / "dataset")
    return len(json.loads((tmp / "dataset/train/_annotations.coco.json").read_text())["images"])


def main() -> None:
    parser = training_parser(__doc__, epochs=3)
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded runs before the measured ones")
    parser.add_argument("--keep", type=Path, help="copy the last workflow checkpoint here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_images = demo_dataset(tmp, args.clips)
        runs: dict[str, list[tuple[float, float | None]]] = {"bare": [], "workflow": []}
        for _ in range(args.warmup):  # the first run of a session pays for CUDA/cuDNN set-up and cold caches
            run_bare(args, tmp / "dataset", tmp / "warmup")
        for r in range(args.repeats):
            order = ["bare", "workflow"] if r % 2 == 0 else ["workflow", "bare"]
            for label in order:
                fn = run_bare if label == "bare" else run_workflow
                runs[label].append(fn(args, tmp / "dataset", tmp / f"{label}{r}"))
                wall, mem = runs[label][-1]
                print(f"  repeat {r} {label:<8} {n_images * args.epochs / wall:7.1f} images/s  peak {mem} MiB", flush=True)
        if args.keep:
            args.keep.parent.mkdir(parents=True, exist_ok=True)
            (tmp / f"workflow{args.repeats - 1}" / "study/run" / layout.CHECKPOINT).rename(args.keep)
    rate = {k: statistics.median(n_images * args.epochs / w for w, _ in v) for k, v in runs.items()}
    mem = {k: max((m or 0) for _, m in v) for k, v in runs.items()}
    print(
        f"{args.model} at {args.resolution}px, {n_images} train images, {args.epochs} epochs, batch {args.batch_size}, "
        f"{args.repeats} repeats (median)"
    )
    for label in rate:
        print(f"  {label:<8} {rate[label]:7.1f} images/s   peak GPU memory {mem[label]:.0f} MiB")
    print(f"  ratio workflow / bare: {rate['workflow'] / rate['bare']:.3f}")


if __name__ == "__main__":
    main()
