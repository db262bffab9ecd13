"""Benchmark: a class-weighted training (class_loss_weights) against the same training unweighted.

The same prepared demo dataset, the workflow's own train step (bench/train_step.py's), alternating
weighted and unweighted runs in fresh processes. Prints training images/s of each and the ratio:
the weighted loss recomputes rfdetr's classification loss element-wise once more per decoder layer,
which should cost little next to the model.
Usage: python bench/weighted_loss.py [--model nano] [--resolution 384] [--epochs 2] [--repeats 2]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_step import demo_dataset, run_workflow, training_parser  # noqa: E402


WEIGHTED = {"class_loss_weights": {"method": "effective_number", "beta": 0.999}}


def main() -> None:
    args = training_parser(__doc__, epochs=2).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_images = demo_dataset(tmp, args.clips)
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
