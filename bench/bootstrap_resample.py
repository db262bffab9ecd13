"""Benchmark: AP on bootstrap resamples of the test images, from per-image results against anew.

The paired bootstrap (results/comparison_stats.csv) scores two runs on each of `samples` resamples
of the test split. Compared, interleaved over several repeats, on one generated split:
  - anew: build each resampled test set (repeats renamed apart) and evaluate it with faster-coco-eval
    (the obvious way, and the workflow's way until it was replaced);
  - per image: detexp.test.evaluation.ResampledAP - each run evaluated once per image, each resample one
    accumulate in C++.
Prints seconds per pair of runs at the given samples (median) and the ratio.
Usage: python bench/bootstrap_resample.py [--images 500] [--predictions 30] [--samples 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from detexp.test.evaluation import ResampledAP, coco_ap  # noqa: E402

CATEGORIES = [{"id": 1, "name": "person"}, {"id": 2, "name": "crane hook"}, {"id": 5, "name": "rare"}]


def synthetic_split(seed: int, n_images: int = 40, false_positives: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A test split with 0-3 boxes of three classes and many sizes per image (one class rare), and a
    run's predictions on it: jittered true boxes, misses, up to `false_positives` stray boxes per
    image; scores spread out. Image ids descend: evaluators sort them, positions differ from order."""
    rng = np.random.default_rng(seed)
    images = [{"id": 10 + 3 * (n_images - i), "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(n_images)]
    annotations: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    for img in images:
        for _ in range(rng.integers(0, 4)):
            cat = int(rng.choice([1, 2, 5], p=[0.6, 0.35, 0.05]))
            w, h = rng.uniform(8, 200, size=2)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": img["id"],
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.8:
                jitter = rng.normal(0, 0.08, size=4) * [w, h, w, h]
                predictions.append(
                    {
                        "image_id": img["id"],
                        "category_id": cat,
                        "score": float(rng.uniform(0.2, 1)),
                        "bbox": [x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]],
                    }
                )
        for _ in range(rng.integers(0, false_positives + 1)):
            predictions.append(
                {
                    "image_id": img["id"],
                    "category_id": int(rng.choice([1, 2, 5])),
                    "score": float(rng.uniform(0, 0.9)),
                    "bbox": [float(rng.uniform(0, 500)), float(rng.uniform(0, 400)), 60.0, 50.0],
                }
            )
    return {"images": images, "annotations": annotations, "categories": CATEGORIES}, predictions


def resampled_anew(gt: dict[str, Any], predictions: list[dict[str, Any]], picks: list[int]) -> dict[int, dict[str, float | None]]:
    """Per-category AP on a new test set of the picked images (by list index; repeats renamed apart)."""
    truth: dict[int, list[dict[str, Any]]] = {}
    for a in gt["annotations"]:
        truth.setdefault(a["image_id"], []).append(a)
    found: dict[int, list[dict[str, Any]]] = {}
    for p in predictions:
        found.setdefault(p["image_id"], []).append(p)
    images, annotations, picked = [], [], []
    for new_id, index in enumerate(picks, start=1):
        image = gt["images"][index]
        images.append({**image, "id": new_id})
        for a in truth.get(image["id"], []):
            annotations.append({**a, "id": len(annotations) + 1, "image_id": new_id})
        picked += [{**p, "image_id": new_id} for p in found.get(image["id"], [])]
    return coco_ap({"images": images, "annotations": annotations, "categories": gt["categories"]}, picked)["per_category"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--predictions", type=int, default=30, help="stray predictions per image, at most")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    gt, reference = synthetic_split(0, args.images, args.predictions)
    _, other = synthetic_split(1, args.images, args.predictions)
    other = [p for p in other if p["image_id"] in {img["id"] for img in gt["images"]}]
    n = len(gt["images"])
    rng = np.random.default_rng(0)
    picks = [rng.integers(0, n, size=n) for _ in range(args.samples)]

    def anew() -> list[dict]:
        return [resampled_anew(gt, run, p.tolist()) for p in picks for run in (reference, other)]

    def per_image() -> list[dict]:
        runs = [ResampledAP(gt, run) for run in (reference, other)]
        positions = runs[0].image_positions([img["id"] for img in gt["images"]])
        return [run.per_category(positions[p]) for p in picks for run in runs]

    times: dict[str, list[float]] = {"anew": [], "per image": []}
    results = {}
    for _ in range(args.repeats):
        for label, fn in (("anew", anew), ("per image", per_image)):
            start = time.perf_counter()
            results[label] = fn()
            times[label].append(time.perf_counter() - start)
    first, second = results["anew"][0][1]["AP_50_95"], results["per image"][0][1]["AP_50_95"]
    assert abs(first - second) < 1e-9, (first, second)  # the same numbers, or the timing means nothing
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{n} images, {len(gt['annotations'])} boxes, {len(reference) + len(other)} predictions (2 runs), "
        f"{args.samples} resamples, {args.repeats} repeats (median)"
    )
    for label, value in med.items():
        print(f"  {label:<10} {value:8.2f} s  ({1000 * value / args.samples:7.1f} ms per resample of both runs)")
    print(f"  ratio anew / per image: {med['anew'] / med['per image']:.1f}x")


if __name__ == "__main__":
    main()
