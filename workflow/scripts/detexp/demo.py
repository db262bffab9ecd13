"""A small synthetic project in the format a user supplies: COCO frames from clips, and test videos.

Frames show a "crane hook" (a cable with a yellow block and hook) and a "person" (head, shirt,
legs) moving over a textured background; some frames show both, some one, some neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .layout import SPLIT_ANNOTATIONS_NAME
from .video import H264Writer

DEMO_CLASSES = ("crane hook", "person")
DEMO_PROJECT_DIR = "resources/demo_project"
# The project's COCO file, named as a Roboflow export names it; its frames lie under images/ beside it.
DEMO_ANNOTATIONS = f"{DEMO_PROJECT_DIR}/{SPLIT_ANNOTATIONS_NAME}"
# The test videos of the demo project: file name -> what it shows.
DEMO_VIDEOS = {"crane_hook+human_short.mp4": "both", "crane_hook_1_short.mp4": "hook"}


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    sky = np.linspace(200, 140, height, dtype=np.float32)[:, None, None] * np.array([1.0, 0.9, 0.7], np.float32)
    img = np.broadcast_to(sky, (height, width, 3)).copy()
    img[int(height * 0.8) :] = (60, 90, 110)  # ground (BGR)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_hook(img: np.ndarray, cx: int, cy: int, s: int) -> list[float]:
    """A crane hook hanging from the top edge at (cx, cy); returns its COCO box."""
    import cv2

    cv2.line(img, (cx, 0), (cx, cy), (40, 40, 40), max(1, s // 8))
    cv2.rectangle(img, (cx - s // 2, cy), (cx + s // 2, cy + s // 2), (0, 200, 255), -1)
    cv2.ellipse(img, (cx, cy + s), (s // 2, s // 2), 0, -30, 210, (0, 140, 220), max(2, s // 5))
    x0, y0, x1, y1 = cx - s // 2 - 2, cy, cx + s // 2 + 2, cy + 3 * s // 2 + 2
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def _draw_person(img: np.ndarray, cx: int, base_y: int, s: int) -> list[float]:
    """A person standing with feet at base_y; returns its COCO box."""
    import cv2

    head = s // 4
    top = base_y - 3 * s
    cv2.circle(img, (cx, top + head), head, (150, 180, 230), -1)
    cv2.rectangle(img, (cx - s // 2, top + 2 * head), (cx + s // 2, base_y - s), (200, 60, 40), -1)
    cv2.rectangle(img, (cx - s // 2, base_y - s), (cx - s // 8, base_y), (50, 40, 40), -1)
    cv2.rectangle(img, (cx + s // 8, base_y - s), (cx + s // 2, base_y), (50, 40, 40), -1)
    return [float(cx - s // 2), float(top), float(s), float(base_y - top)]


def render_frame(clip: int, t: int, width: int, height: int, has_hook: bool, has_person: bool, seed: int):
    """One synthetic frame and its annotations [(class name, COCO box)]."""
    rng = np.random.default_rng([seed, clip, t])
    img = _background(rng, width, height)
    anns = []
    scale = min(width, height)
    if has_hook:
        s = scale // 6 + clip % 3 * 2
        cx = int(width * (0.25 + 0.5 * ((clip * 37) % 10) / 10))
        cy = int(height * (0.15 + 0.03 * t)) % int(height * 0.45) + 4
        anns.append(("crane hook", _draw_hook(img, cx, cy, s)))
    if has_person:
        s = scale // 8 + clip % 2 * 2
        cx = int(width * 0.1 + (t * 7 + clip * 23) % int(width * 0.8))
        anns.append(("person", _draw_person(img, cx, int(height * 0.92), s)))
    return img, anns


def presence(clip: int, t: int) -> tuple[bool, bool]:
    """Which objects a clip frame shows: a mix of both, one and neither across every clip."""
    phase = (t + clip) % 6  # 0-1 hook only, 2-3 person only, 4 both, 5 neither
    return phase in (0, 1, 4), phase in (2, 3, 4)


def make_demo_project(
    annotations_path: Path,
    videos: dict[Path, str],
    n_clips: int = 8,
    frames_per_clip: int = 6,
    width: int = 160,
    height: int = 128,
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
        for t in range(frames_per_clip):
            img, anns = render_frame(clip, t, width, height, *presence(clip, t), seed=seed)
            name = f"images/clip{clip:02d}_{t:04d}.jpg"
            cv2.imwrite(str(out_dir / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name, "width": width, "height": height})
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
