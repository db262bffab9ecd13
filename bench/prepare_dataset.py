"""Benchmark: dataset preparation on a 4,000-frame project against copying its images.

Generates a COCO project like the original study's (about 2,000 frames per class, clips of 20
frames, tiny images), then, interleaved over several repeats:
  - the workflow's step for one experiment (read the project, sample, link, write; in-process),
  - the same for all four experiments (plus the one-off split), as the DAG runs it,
  - the obvious alternative: copying one experiment's images into a dataset folder.
Prints medians and the ratio copy / prepare. Usage: python bench/prepare_dataset.py [--frames N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from detexp.data.dataset import prepare_dataset  # noqa: E402
from detexp.data.formats import read_project  # noqa: E402
from detexp.data.sampling import assign_splits  # noqa: E402

CLASSES = ["crane hook", "person"]
FRACTIONS = [0.25, 0.5, 0.75, 1.0]
CLIP_REGEX = r"^(?P<clip>.*?)[_-]?\d+$"


def make_project(root: Path, n_frames: int) -> None:
    ok, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 127, np.uint8))
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    for i in range(n_frames):
        name = f"images/clip{i // 20:04d}_{i % 20:04d}.jpg"
        (root / name).write_bytes(jpeg.tobytes())
        images.append({"id": i, "file_name": name, "width": 64, "height": 48})
        kinds = [1] if i % 2 == 0 else [2]
        if i % 10 == 0:
            kinds = [1, 2]
        for c in kinds:
            annotations.append({"id": len(annotations), "image_id": i, "category_id": c, "bbox": [4, 4, 20, 20]})
    cats = [{"id": 1, "name": "crane hook"}, {"id": 2, "name": "person"}]
    (root / "_annotations.coco.json").write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))


def prepare_one(project_dir: Path, splits: dict, fraction: float, out: Path) -> None:
    project = read_project(project_dir, CLASSES, CLIP_REGEX)
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": fraction}, 42, out)


def prepare_all(project_dir: Path, out: Path) -> None:
    project = read_project(project_dir, CLASSES, CLIP_REGEX)
    splits = assign_splits(project.frames, 0.15, 0.15, 42)
    for f in FRACTIONS:
        prepare_one(project_dir, splits, f, out / f"exp_{f}")


def copy_images(project_dir: Path, names: list[str], out: Path) -> None:
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_dir / name, out / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_project(tmp / "project", args.frames)
        project = read_project(tmp / "project", CLASSES, CLIP_REGEX)
        splits = assign_splits(project.frames, 0.15, 0.15, 42)
        all_names = [n for s in splits.values() for n in s]
        times: dict[str, list[float]] = {"prepare one experiment": [], "prepare all four": [], "copy images": []}
        for r in range(args.repeats):
            for label, fn in (
                ("prepare one experiment", lambda r=r: prepare_one(tmp / "project", splits, 1.0, tmp / f"one{r}")),
                ("prepare all four", lambda r=r: prepare_all(tmp / "project", tmp / f"all{r}")),
                ("copy images", lambda r=r: copy_images(tmp / "project", all_names, tmp / f"copy{r}")),
            ):
                start = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.frames} frames, {args.repeats} repeats (median seconds)")
    for label, value in med.items():
        print(f"  {label:<24} {value:7.3f} s")
    print(f"  ratio copy / prepare one: {med['copy images'] / med['prepare one experiment']:.2f}x")


if __name__ == "__main__":
    main()
