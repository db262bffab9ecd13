"""Writing a run's RF-DETR dataset: the sampled training frames (repeats as repeated COCO entries),
the whole validation and test splits, and the statistics of what was kept.

The dataset's images are links to the project's, never copies where a link can be made, and the
project's files are only ever read."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from ..files import written_whole
from ..layout import SPLIT_ANNOTATIONS_NAME, SPLIT_NAMES
from .project import Frame, Project
from .sampling import draw_training_frames, frame_copies, oversampling_factors, sampling_method
from .sources import DatasetError


def link_file(src: Path, dst: Path, inside: Path) -> str:
    """Hard-link src to dst, a new file inside the folder `inside`; fall back to a symlink, then a copy.
    Return the method used. The source is only ever read, and nothing that exists is replaced."""
    if not src.is_file():
        raise DatasetError(f"image {src} does not exist (moved or deleted since the project was read?)")
    if not dst.resolve().is_relative_to(Path(inside).resolve()):
        raise DatasetError(f"image {src}: its dataset copy {dst} would lie outside the dataset folder {inside}")
    if dst.exists() or dst.is_symlink():
        # Never unlink: the destination may be, or lead to, a user's file.
        raise DatasetError(f"image {src}: its dataset copy {dst} exists already (two images with one name?)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        pass
    try:
        dst.symlink_to(src.resolve())
        return "symlink"
    except OSError:
        shutil.copy2(src, dst)
        return "copy"


def coco_dict(frames: Iterable[Frame], classes: list[str]) -> dict[str, Any]:
    """A COCO dict with contiguous category ids 1..K in the order of `classes`."""
    images, annotations = [], []
    for image_id, frame in enumerate(frames, start=1):
        images.append({"id": image_id, "file_name": frame.file_name, "width": frame.width, "height": frame.height})
        for box in frame.boxes:
            x, y, w, h = (round(v, 3) for v in box.bbox)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": box.label + 1,
                    "bbox": [x, y, w, h],
                    "area": round(w * h, 3),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": c, "supercategory": "none"} for i, c in enumerate(classes)]
    return {"images": images, "annotations": annotations, "categories": categories}


def split_stats(frames: list[Frame], classes: list[str], copies: dict[str, int] | None = None) -> dict[str, Any]:
    """Frames and instances per class of one split; with `copies`, also counting repeated frames."""
    per_class: dict[str, dict[str, int]] = {
        c: {
            "frames": sum(label in f.labels() for f in frames),
            "instances": sum(b.label == label for f in frames for b in f.boxes),
        }
        for label, c in enumerate(classes)
    }
    stats: dict[str, Any] = {"frames": len(frames), "background_frames": sum(not f.boxes for f in frames)}
    if copies is not None:
        for label, c in enumerate(classes):
            per_class[c]["effective_frames"] = sum(copies[f.file_name] for f in frames if label in f.labels())
            per_class[c]["effective_instances"] = sum(
                copies[f.file_name] * sum(b.label == label for b in f.boxes) for f in frames
            )
        stats["effective_frames"] = sum(copies[f.file_name] for f in frames)
        histogram: dict[str, int] = defaultdict(int)
        for f in frames:
            histogram[str(copies[f.file_name])] += 1
        stats["copies_per_frame"] = dict(sorted(histogram.items(), key=lambda kv: int(kv[0])))
    stats["classes"] = per_class
    return stats


def achieved_ratios(
    stats: dict[str, Any], classes: list[str], units: tuple[str, ...] = ("frames", "instances")
) -> dict[str, dict[str, float | None]]:
    """Each class's share relative to the largest class, by each unit (frames, instances, ...)."""
    out: dict[str, dict[str, float | None]] = {}
    for unit in units:
        counts = {c: stats["classes"][c][unit] for c in classes}
        top = max(counts.values())
        out[unit] = {c: (round(n / top, 4) if top else None) for c, n in counts.items()}
    return out


def prepare_dataset(
    project: Project,
    splits: dict[str, list[str]],
    fractions: dict[str, float],
    seed: int,
    out_dir: Path,
    background_fraction: float = 0.0,
    oversample: dict[str, float] | None = None,
    repeat_factor: dict[str, Any] | None = None,
    frame_sampling: str = "union",
) -> dict[str, Any]:
    """Write the RF-DETR dataset layout (train sampled, valid/test whole) and return its statistics.

    Repeated training frames (oversampling, repeat-factor sampling: `frame_copies`) are repeated
    entries of the training COCO file (new image and annotation ids, one linked image file); the
    validation and test splits are never repeated. The folder is built beside `out_dir` and moved
    into place at the end: a failure leaves nothing half-written.
    """
    by_name = {f.file_name: f for f in project.frames}
    missing = [n for s in SPLIT_NAMES for n in splits[s] if n not in by_name]
    if missing:
        raise DatasetError(f"splits name {len(missing)} frame(s) the project does not have, e.g. {missing[0]}")
    draw = draw_training_frames(
        [by_name[n] for n in splits["train"]], project.classes, fractions, seed, background_fraction, frame_sampling
    )
    train_kept = draw.kept
    chosen = {"train": train_kept, "valid": splits["valid"], "test": splits["test"]}
    oversample = oversample or {}
    copies, class_factors = frame_copies(
        [by_name[n] for n in train_kept], project.classes, fractions, seed, oversample, repeat_factor
    )
    stats: dict[str, Any] = {
        "classes": project.classes,
        "nominal_fractions": fractions,
        "frame_sampling": frame_sampling,
        # per class: the fraction asked for, the frames available, drawn and kept, and the kept share
        "per_class_sampling": draw.per_class,
        "over_kept_classes": draw.over_kept(),
        "background_fraction": background_fraction,
        "sampling_method": sampling_method(fractions, oversample, repeat_factor),
        "oversampling_factors": oversampling_factors(fractions, oversample),
        "repeat_factor": repeat_factor,
        "class_repeat_factors": class_factors,
        "seed": seed,
        "clipped_boxes": project.clipped_boxes,
        "dropped_annotations": project.dropped_annotations,
        "dropped_annotations_by_category": dict(sorted(project.dropped_by_category.items())),
        "dropped_degenerate_boxes": len(project.degenerate_boxes),
        "degenerate_box_examples": project.degenerate_boxes[:10],
        "dropped_bad_images": len(project.bad_images),
        "bad_images": project.bad_images,
        "splits": {},
    }
    methods: set[str] = set()
    out_dir = Path(out_dir)
    with written_whole(out_dir) as partial:
        for split, names in chosen.items():
            frames = [by_name[n] for n in names]
            split_dir = partial / split
            split_dir.mkdir(parents=True, exist_ok=True)
            for frame in frames:
                methods.add(link_file(project.source_of(frame), split_dir / frame.file_name, split_dir))
            entries = [f for f in frames for _ in range(copies[f.file_name])] if split == "train" else frames
            with open(split_dir / SPLIT_ANNOTATIONS_NAME, "w") as f:
                json.dump(coco_dict(entries, project.classes), f)
            stats["splits"][split] = split_stats(frames, project.classes, copies if split == "train" else None)
    stats["splits"]["train"]["available_before_sampling"] = split_stats([by_name[n] for n in splits["train"]], project.classes)
    stats["achieved_ratio"] = achieved_ratios(stats["splits"]["train"], project.classes)
    effective = ("effective_frames", "effective_instances")
    by_copies = achieved_ratios(stats["splits"]["train"], project.classes, effective)
    stats["achieved_ratio_effective"] = {unit.removeprefix("effective_"): v for unit, v in by_copies.items()}
    stats["image_link_method"] = sorted(methods)
    stats["train_frames"] = train_kept
    return stats
