"""Running a trained model over a test video: an annotated H.264 copy and a detection JSON."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections import Counter
import dataclasses
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..files import written_whole
from .logit_adjustment import LogitAdjustment
from ..schemas import checked_setting, load_schema, schema_default
from ..data.video import H264Writer, VideoError, VideoInfo, probe, read_frames

DETECTIONS_SCHEMA_VERSION = 3  # 2: frame_stride, max_frames, header_frame_count, precision; 3: logit_adjustment


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


PRECISIONS = tuple(load_schema("config.schema.yaml")["properties"]["inference"]["properties"]["precision"]["enum"])


def check_precision(precision: str) -> None:
    """Raise ValueError naming the allowed values unless `precision` is one of PRECISIONS."""
    if precision not in PRECISIONS:
        raise ValueError(f"inference precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


class Predictor:
    """A trained checkpoint ready for batched prediction on RGB frames.

    `precision` "auto" runs a GPU in half precision through rfdetr's optimised inference path, traced
    for the batch size (a short last batch is padded), and a CPU through plain predict. A named
    precision takes the optimised path on any device. Should tracing fail, the optimised path runs
    untraced; should that fail too, plain predict in float32 (each fallback is logged).
    """

    def __init__(
        self,
        checkpoint: str | Path,
        device: str,
        batch_size: int,
        log: Callable[[str], None] = print,
        precision: str = "auto",
    ) -> None:
        import rfdetr
        import torch

        check_precision(precision)
        self.model = rfdetr.from_checkpoint(str(checkpoint), device=device)
        self.class_names = list(self.model.class_names)
        self.batch_size = batch_size
        self.traced = False
        self.precision = "float32"
        # the optimised path's dtype; None: plain predict (auto on a CPU)
        optimised = ("float16" if device == "cuda" else None) if precision == "auto" else precision
        if optimised is not None:
            for traced in (True, False):
                try:
                    self.model.inference(compile=traced, batch_size=batch_size, dtype=getattr(torch, optimised))
                except Exception as err:  # an rfdetr/torch version that cannot trace or cast: try the next way
                    log(f"rfdetr inference(compile={traced}, {optimised}) failed ({type(err).__name__}: {err}); falling back")
                    with contextlib.suppress(Exception):
                        self.model.remove_optimized_model()
                    continue
                self.traced, self.precision = traced, optimised
                break
        log(f"predicting on {device}, {self.precision}{', traced for batch size %d' % batch_size if self.traced else ''}")

    def __call__(self, rgb_frames: list[np.ndarray], threshold: float, adjustment: LogitAdjustment | None = None) -> list[Any]:
        """Detections per frame, the head's background slot dropped. With an `adjustment`, every
        detection the model keeps is rescored first and the threshold applies to the adjusted score
        (as rfdetr applies it: above, not at)."""
        n = len(rgb_frames)
        if self.traced and n < self.batch_size:
            rgb_frames = rgb_frames + [rgb_frames[-1]] * (self.batch_size - n)
        results = self.model.predict(rgb_frames, threshold=threshold if adjustment is None else 0.0, include_source_image=False)
        if not isinstance(results, list):
            results = [results]
        results = [det[det.class_id < len(self.class_names)] for det in results[:n]]
        if adjustment is None:
            return results
        adjusted = []
        for det in results:
            det.confidence = adjustment.scores(det.confidence, det.class_id, self.class_names)
            adjusted.append(det[det.confidence > threshold])
        return adjusted


_DONE = object()


@dataclass
class _Failure:
    """An exception raised in a background thread, carried to the consuming one."""

    error: BaseException


def prefetch(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """Iterate `items` in a background thread through a bounded queue, re-raising its errors here.

    Decoding the next frames while the model works on the current batch keeps the accelerator busy."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as err:  # handed to the consumer, raised there
            buffer.put(_Failure(err))
        buffer.put(_DONE)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()


class BackgroundWriter:
    """Annotates and encodes frames in a background thread, so encoding overlaps prediction."""

    def __init__(self, writer: H264Writer, class_names: list[str], depth: int) -> None:
        self._writer = writer
        self._class_names = class_names
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    frame, detections = item
                    self._writer.write(annotate(frame, detections, self._class_names))
                except BaseException as err:  # raised in the caller by put() or close()
                    self._error = err

    def put(self, frame: np.ndarray, detections: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((frame, detections))

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error


def held_batches(
    frames: Iterable[tuple[int, np.ndarray]], batch_size: int, frame_stride: int
) -> Iterator[list[tuple[int, np.ndarray]]]:
    """Decoded (index, frame) pairs in runs that each hold one batch of frames to detect on (every
    `frame_stride`-th), or at most 4 x `batch_size` frames in all (a long stride holds less)."""
    held: list[tuple[int, np.ndarray]] = []
    to_detect = 0
    for index, frame in frames:
        held.append((index, frame))
        to_detect += index % frame_stride == 0
        if to_detect == batch_size or len(held) >= 4 * batch_size:
            yield held
            held, to_detect = [], 0
    if held:
        yield held


def detect_frames(
    frames: Iterable[tuple[int, np.ndarray]],
    predict: Callable[[list[np.ndarray]], list[Any]],
    batch_size: int,
    frame_stride: int,
) -> Iterator[tuple[int, np.ndarray, Any, bool]]:
    """(index, BGR frame, detections to draw on it, detected on it) for every frame, in order. Every
    `frame_stride`-th frame is detected on, `batch_size` at a time (`predict` takes RGB frames); the
    frames in between carry the detections of the last detected frame."""
    last = None
    for held in held_batches(frames, batch_size, frame_stride):
        todo = [(i, f) for i, f in held if i % frame_stride == 0]
        results = predict([np.ascontiguousarray(f[:, :, ::-1]) for _, f in todo]) if todo else []
        detected = {i: det for (i, _), det in zip(todo, results)}
        for index, frame in held:
            if index in detected:
                last = detected[index]
            yield index, frame, last, index in detected


@dataclass(frozen=True)
class InferenceSettings:
    """The `inference` settings of a run (config schema `inference.*`, whose defaults these are; the
    threshold is always given)."""

    threshold: float
    batch_size: int = schema_default("inference.batch_size")
    frame_stride: int = schema_default("inference.frame_stride")
    max_frames: int | None = schema_default("inference.max_frames")
    precision: str = schema_default("inference.precision")

    def __post_init__(self) -> None:
        checked_setting(dataclasses.asdict(self), "inference", "config.schema.yaml")  # the schema's ranges


@dataclass
class _Detected:
    """What detecting on a video gave: the processed frames' records and the totals per class."""

    frames: list[dict[str, Any]]
    totals: Counter[str]
    decoded: int


def _detect_and_annotate(
    video_path: str | Path,
    predictor: Predictor,
    settings: InferenceSettings,
    writer: H264Writer,
    info: VideoInfo,
    adjustment: LogitAdjustment | None,
) -> _Detected:
    """Decode (in the background), detect on every `frame_stride`-th frame in batches, and hand every
    frame with its boxes to the annotating encoder (in the background)."""
    frames = enumerate(read_frames(video_path))
    if settings.max_frames is not None:
        frames = islice(frames, settings.max_frames)
    detected = _Detected([], Counter(), 0)
    background = BackgroundWriter(writer, predictor.class_names, depth=2 * settings.batch_size)
    try:
        for index, frame, detections, is_detected in detect_frames(
            prefetch(frames, depth=2 * settings.batch_size),
            lambda batch: predictor(batch, settings.threshold, adjustment),
            settings.batch_size,
            settings.frame_stride,
        ):
            detected.decoded = index + 1
            if is_detected:
                record = frame_record(index, info.fps, detections, predictor.class_names, info.width, info.height)
                detected.totals.update(d["class_name"] for d in record["detections"])
                detected.frames.append(record)
            background.put(frame, detections)
    finally:
        background.close()  # before the writer closes: the encoder thread must be done with it
    return detected


def run_inference(
    video_path: str | Path,
    checkpoint: str | Path,
    out_video: str | Path,
    out_json: str | Path,
    settings: InferenceSettings,
    log: Callable[[str], None] = print,
    adjustment: LogitAdjustment | None = None,
) -> dict[str, Any]:
    """Detect on every `frame_stride`-th frame of a video (all of them by default, the first
    `max_frames` at most); write the annotated video (every frame: those in between carry the boxes
    of the last processed frame) and the detection JSON. With an `adjustment`, the scores are
    logit-adjusted before the threshold and the JSON says so. Nothing is left behind on failure."""
    from ..device import pick_device

    out_video, out_json = Path(out_video), Path(out_json)
    info = probe(video_path)
    device = pick_device()
    log(f"{video_path}: {info.width}x{info.height} at {info.fps:g} fps, {info.frame_count} frames in header")
    predictor = Predictor(checkpoint, device, settings.batch_size, log, settings.precision)
    class_names = predictor.class_names
    start = time.perf_counter()
    with written_whole(out_video) as partial_video, written_whole(out_json) as partial_json:
        with H264Writer(partial_video, info.fps, info.width, info.height) as writer:
            detected = _detect_and_annotate(video_path, predictor, settings, writer, info, adjustment)
        elapsed = time.perf_counter() - start
        if detected.decoded == 0:
            raise VideoError(f"{video_path}: no frames could be decoded")
        result = {
            "schema_version": DETECTIONS_SCHEMA_VERSION,
            "video": {
                "path": str(video_path),
                "fps": info.fps,
                "width": info.width,
                "height": info.height,
                "frame_count": detected.decoded,
                "header_frame_count": info.frame_count,
            },
            "model": {
                "checkpoint": str(checkpoint),
                "variant": type(predictor.model).__name__,
                "device": device,
                "precision": predictor.precision,
            },
            "threshold": settings.threshold,
            "logit_adjustment": None if adjustment is None else dataclasses.asdict(adjustment),
            "frame_stride": settings.frame_stride,
            "max_frames": settings.max_frames,
            "class_names": class_names,
            "totals": {c: detected.totals.get(c, 0) for c in class_names},
            "frames_per_s": round(detected.decoded / elapsed, 3) if elapsed > 0 else None,
            "frames": detected.frames,
        }
        partial_json.write_text(json.dumps(result) + "\n")
    log(
        f"{detected.decoded} frames ({len(detected.frames)} processed) in {elapsed:.1f} s; "
        f"detections per class: {result['totals']}"
    )
    return result


def run_inference_or_reuse(
    video_path: str | Path,
    checkpoint: str | Path,
    out_video: str | Path,
    out_json: str | Path,
    settings: InferenceSettings,
    log: Callable[[str], None] = print,
    adjustment: LogitAdjustment | None = None,
) -> None:
    """run_inference, or its outputs linked again from a result made from the same checkpoint, video,
    settings (the logit adjustment among them), code and device."""
    from ..codeversion import script_behaviour
    from .reuse import environment, run_or_reuse, verified_checkpoint
    from ..device import pick_device

    verified_checkpoint(checkpoint)
    run_or_reuse(
        {"video": Path(out_video), "detections": Path(out_json)},
        [Path(checkpoint), Path(video_path)],
        {
            **dataclasses.asdict(settings),
            "logit_adjustment": None if adjustment is None else dataclasses.asdict(adjustment),
            **environment(pick_device()),
        },
        script_behaviour("infer.py"),
        lambda: run_inference(video_path, checkpoint, out_video, out_json, settings, log, adjustment),
        log,
    )
