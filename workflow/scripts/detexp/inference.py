"""Running a trained model over a test video: an annotated H.264 copy and a detection JSON."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .video import H264Writer, VideoError, probe, read_frames

DETECTIONS_SCHEMA_VERSION = 1


def batched(frames: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Group frames into lists of at most `size`."""
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def frame_record(index: int, fps: float, detections: Any, class_names: list[str], width: int, height: int) -> dict[str, Any]:
    """One frame's detections, with boxes clipped to the frame, as written to the JSON."""
    xyxy = np.asarray(detections.xyxy, dtype=float).reshape(-1, 4)
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
    return {
        "index": index,
        "timestamp_s": round(index / fps, 4),
        "detections": [
            {
                "class_id": int(c),
                "class_name": class_names[int(c)],
                "confidence": round(float(s), 5),
                "xyxy": [round(float(v), 2) for v in box],
            }
            for box, c, s in zip(xyxy, detections.class_id, detections.confidence)
        ],
    }


def annotate(frame_bgr: np.ndarray, detections: Any, class_names: list[str]) -> np.ndarray:
    """Draw boxes and 'class confidence' labels with supervision."""
    import supervision as sv

    labels = [f"{class_names[int(c)]} {s:.2f}" for c, s in zip(detections.class_id, detections.confidence)]
    scene = sv.BoxAnnotator(thickness=1).annotate(frame_bgr.copy(), detections)
    return sv.LabelAnnotator(text_scale=0.3, text_padding=2).annotate(scene, detections, labels=labels)


def run_inference(
    video_path: str | Path,
    checkpoint: str | Path,
    out_video: str | Path,
    out_json: str | Path,
    threshold: float,
    batch_size: int = 8,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Detect on every frame of a video; write the annotated video and the detection JSON."""
    import rfdetr

    from .training import pick_device

    info = probe(video_path)
    device = pick_device()
    model = rfdetr.from_checkpoint(str(checkpoint), device=device)
    class_names = list(model.class_names)
    log(f"{video_path}: {info.width}x{info.height} at {info.fps:g} fps, {info.frame_count} frames in header; device {device}")
    frames_out: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    start = time.perf_counter()
    with H264Writer(out_video, info.fps, info.width, info.height) as writer:
        for batch in batched(read_frames(video_path), batch_size):
            rgb = [np.ascontiguousarray(f[:, :, ::-1]) for f in batch]
            results = model.predict(rgb, threshold=threshold)
            if not isinstance(results, list):
                results = [results]
            for frame, det in zip(batch, results):
                det = det[det.class_id < len(class_names)]  # drop the head's background slot
                record = frame_record(len(frames_out), info.fps, det, class_names, info.width, info.height)
                totals.update(d["class_name"] for d in record["detections"])
                frames_out.append(record)
                writer.write(annotate(frame, det, class_names))
    elapsed = time.perf_counter() - start
    if not frames_out:
        raise VideoError(f"{video_path}: no frames could be decoded")
    result = {
        "schema_version": DETECTIONS_SCHEMA_VERSION,
        "video": {
            "path": str(video_path),
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "frame_count": len(frames_out),
        },
        "model": {"checkpoint": str(checkpoint), "variant": type(model).__name__, "device": device},
        "threshold": threshold,
        "class_names": class_names,
        "totals": {c: totals.get(c, 0) for c in class_names},
        "frames_per_s": round(len(frames_out) / elapsed, 3) if elapsed > 0 else None,
        "frames": frames_out,
    }
    Path(out_json).write_text(json.dumps(result) + "\n")
    log(f"{len(frames_out)} frames in {elapsed:.1f} s; detections per class: {result['totals']}")
    return result
