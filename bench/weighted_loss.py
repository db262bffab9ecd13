"""Benchmark: a class-weighted training (class_loss_weights) against the same training unweighted.

The same prepared demo dataset, the workflow's own train step (bench/train_step.py's), alternating
weighted and unweighted runs in fresh processes. Prints training images/s of each and the ratio:
the weighted loss recomputes rfdetr's classification loss element-wise once more per decoder layer,
which should cost little next to the model.
Usage: python bench/weighted_loss.py [--model nano] [--resolution 384] [--epochs 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_step import CLASSES, run_workflow  # noqa: E402

from detexp.dataset import prepare_dataset  # noqa: E402
from detexp.demo import make_demo_project  # noqa: E402
from detexp.formats import read_project  # noqa: E402
from detexp.models import MODEL_VARIANTS  # noqa: E402
from detexp.sampling import assign_splits  # noqa: E402

WEIGHTED = {"class_loss_weights": {"method": "effective_number", "beta": 0.999}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nano", choices=sorted(MODEL_VARIANTS))
    parser.add_argument("--resolution", type=int, default=384)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=20, help="demo clips of 10 frames each")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_demo_project(
            tmp / "project/_annotations.coco.json", {}, n_clips=args.clips, frames_per_clip=10, width=640, height=480
        )
        project = read_project(tmp / "project", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
        prepare_dataset(project, assign_splits(project.frames, 0.15, 0.15, 42), {c: 1.0 for c in CLASSES}, 42, tmp / "dataset")
        n_images = len(json.loads((tmp / "dataset/train/_annotations.coco.json").read_text())["images"])
        rates: dict[str, list[float]] = {"unweighted": [], "weighted": []}
        for r in range(args.repeats):
            for label in ["unweighted", "weighted"] if r % 2 == 0 else ["weighted", "unweighted"]:
                settings = WEIGHTED if label == "weighted" else {}
                wall, _ = run_workflow(args, tmp / "dataset", tmp / f"{label}{r}", settings)
                rates[label].append(n_images * args.epochs / wall)
                print(f"  repeat {r} {label:<10} {rates[label][-1]:7.1f} images/s", flush=True)
    median = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{args.model} at {args.resolution}px, {n_images} train images, {args.epochs} epochs, {args.repeats} repeats (median)")
    for label, rate in median.items():
        print(f"  {label:<10} {rate:7.1f} images/s")
    print(f"  ratio weighted / unweighted: {median['weighted'] / median['unweighted']:.3f}")


if __name__ == "__main__":
    main()
