"""A small synthetic project in the format a user supplies: COCO frames from clips, and test videos.

Frames show "crane hooks" (a cable with a yellow block and an orange ring) and "persons" (head, blue
shirt, dark legs), large and high-contrast on a flat background: 40% of the frames hooks only, 40%
persons only, 20% both. RF-DETR Nano learns them from scratch in about a minute and a half on 2 CPU
cores (config/demo.yaml; BENCHMARKS.md has the curve).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..layout import SPLIT_ANNOTATIONS_NAME
from .video import H264Writer

DEMO_CLASSES = ("crane hook", "person")
DEMO_PROJECT_DIR = "resources/demo_project"
# The project's COCO file, named as a Roboflow export names it; its frames lie under images/ beside it.
DEMO_ANNOTATIONS = f"{DEMO_PROJECT_DIR}/{SPLIT_ANNOTATIONS_NAME}"
# The test videos of the demo project: file name -> what it shows.
DEMO_VIDEOS = {"crane_hook+human_short.mp4": "both", "crane_hook_1_short.mp4": "hook"}


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A flat colour (muted, so that the objects' saturated colours stand out) with Gaussian noise."""
    colour = rng.uniform(70, 190, 3).astype(np.float32)
    img = np.broadcast_to(colour, (height, width, 3)).copy()
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_hook(img: np.ndarray, x: int, y: int, w: int, h: int) -> list[float]:
    """A crane hook in the box (x, y, w, h), about 1:1.5: a dark cable from the top edge of the image,
    a saturated yellow block and an orange ring; returns its COCO box."""
    import cv2

    cx = x + w // 2
    cv2.line(img, (cx, 0), (cx, y), (30, 30, 30), max(1, w // 8))
    cv2.rectangle(img, (x, y), (x + w, y + h // 2), (0, 215, 255), -1)
    ring = max(2, w // 6)
    cv2.ellipse(img, (cx, y + 3 * h // 4), (w // 2 - ring // 2, h // 4 - ring // 2), 0, -30, 210, (0, 110, 255), ring)
    return [float(x), float(y), float(w), float(h)]


def _draw_person(img: np.ndarray, x: int, y: int, w: int, h: int) -> list[float]:
    """A person in the box (x, y, w, h), about 1:2.5: a skin-tone head, a blue shirt, dark legs."""
    import cv2

    head = h // 5
    cv2.circle(img, (x + w // 2, y + head // 2), head // 2 + 1, (150, 185, 235), -1)
    cv2.rectangle(img, (x, y + head), (x + w, y + 3 * h // 5), (200, 70, 20), -1)
    cv2.rectangle(img, (x + w // 8, y + 3 * h // 5), (x + 7 * w // 8, y + h), (40, 30, 30), -1)
    return [float(x), float(y), float(w), float(h)]


# Each class's drawing and its box's width : height.
_OBJECTS = {"crane hook": (_draw_hook, 1 / 1.5), "person": (_draw_person, 1 / 2.5)}


def _iou(a: list[int], b: list[int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def render_frame(clip: int, t: int, width: int, height: int, has_hook: bool, has_person: bool, seed: int):
    """One synthetic frame and its annotations [(class name, COCO box)]: one or two of each class it
    shows (three objects at most), each with its longer side 30-60% of the image's shorter side, kept
    apart (IoU at most 0.1), drifting a little from frame to frame of a clip."""
    clip_rng = np.random.default_rng([seed, clip])
    rng = np.random.default_rng([seed, clip, t])
    img = _background(clip_rng, width, height)
    img = np.clip(img.astype(np.int16) + rng.normal(0, 3, img.shape).astype(np.int16), 0, 255).astype(np.uint8)
    wanted = [c for c, shown in (("crane hook", has_hook), ("person", has_person)) if shown]
    if len(wanted) == 1 and clip_rng.random() < 0.35:
        wanted = wanted * 2
    elif len(wanted) == 2 and clip_rng.random() < 0.3:
        wanted.append(wanted[int(clip_rng.integers(2))])
    scale = min(width, height)
    placed: list[list[int]] = []
    anns = []
    for cls in wanted:
        draw, aspect = _OBJECTS[cls]
        for _ in range(50):  # the clip's place for the object, then a small drift per frame
            h = int(scale * clip_rng.uniform(0.3, 0.6))
            w = max(4, int(h * aspect))
            x = int(clip_rng.uniform(0, width - w)) + int(rng.integers(-2, 3))
            y = int(clip_rng.uniform(0, height - h)) + int(rng.integers(-2, 3))
            box = [min(max(x, 0), width - w), min(max(y, 0), height - h), w, h]
            if all(_iou(box, other) <= 0.1 for other in placed):
                break
        else:
            continue
        placed.append(box)
        anns.append((cls, draw(img, *box)))
    return img, anns


def presence(clip: int, t: int, seed: int = 0) -> tuple[bool, bool]:
    """Which classes a frame shows: 40% crane hook only, 40% person only, 20% both."""
    u = np.random.default_rng([seed, clip, t, 7]).random()
    return u < 0.4 or u >= 0.8, u >= 0.4


def make_demo_project(
    annotations_path: Path,
    videos: dict[Path, str],
    n_clips: int = 260,
    frames_per_clip: int = 2,
    width: int | None = None,
    height: int | None = None,
    video_frames: int = 30,
    seed: int = 0,
) -> dict[str, int]:
    """Write the project's COCO file at `annotations_path`, its frames under images/ beside it, and
    the test videos: `videos` maps each video's path to its content, "both" (hook and person) or "hook".
    """
    import cv2

    out_dir = Path(annotations_path).parent  # COCO file_names are relative to the COCO file's folder
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    categories = [{"id": i + 1, "name": c, "supercategory": "object"} for i, c in enumerate(DEMO_CLASSES)]
    cat_id = {c["name"]: c["id"] for c in categories}
    for clip in range(n_clips):
        # square frames of 96-160 px (a clip's size), unless a size is given
        side = int(np.random.default_rng([seed, clip, 3]).integers(96, 161))
        w, h = width or side, height or side
        for t in range(frames_per_clip):
            img, anns = render_frame(clip, t, w, h, *presence(clip, t, seed), seed=seed)
            name = f"images/clip{clip:02d}_{t:04d}.jpg"
            cv2.imwrite(str(out_dir / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name, "width": w, "height": h})
            for cls, box in anns:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": cat_id[cls],
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": 0,
                    }
                )
    with open(annotations_path, "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f, indent=1)
    for i, (path, content) in enumerate(sorted(videos.items(), key=lambda item: Path(item[0]).name)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_demo_video(path, content, clip=100 + i, frames=video_frames, seed=seed)
    return {"frames": len(images), "annotations": len(annotations), "videos": len(videos)}


def write_demo_video(
    path: Path, content: str, clip: int, frames: int = 30, width: int = 192, height: int = 144, seed: int = 0
) -> None:
    """A short test video: H.264 for `.mp4`, MPEG-4 Part 2 (OpenCV) for `.avi` and others."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if content not in ("both", "hook", "person"):
        raise ValueError(f"unknown demo video content {content!r}")
    fps = 10.0
    if path.suffix.lower() == ".mp4":
        writer = H264Writer(path, fps, width, height)
    else:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MP4V"), fps, (width, height))
    try:
        for t in range(frames):
            img, _ = render_frame(clip, t, width, height, content != "person", content != "hook", seed)
            writer.write(img)
    finally:
        writer.close() if isinstance(writer, H264Writer) else writer.release()
