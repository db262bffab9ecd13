"""Benchmark: the workflow's video inference against the naive per-frame loop, and the model alone.

Interleaved over several repeats, on the same video, checkpoint and device:
  - naive: load the model, then decode a frame, predict it alone, annotate with supervision, write
    with OpenCV (mp4v);
  - workflow: detexp.test.inference.run_inference (loading the model, decoding, batched prediction and annotation+H.264
    encoding overlapped in threads; half precision and rfdetr's traced inference on a GPU; JSON);
  - model only: the workflow's predictor on frames already in memory, in its batch size (the ceiling).
Prints frames per second (median) for each and the ratios, and how closely the workflow's predictor
(half precision on a GPU) agrees with float32 on the first frames.
Usage: python bench/infer_throughput.py CHECKPOINT [--video V] [--frames N] [--batch-size B] [--precision P]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from detexp.data.demo import write_demo_video  # noqa: E402
from detexp.test.inference import PRECISIONS, InferenceSettings, Predictor, annotate, batched, run_inference  # noqa: E402
from detexp.device import pick_device  # noqa: E402
from detexp.data.video import probe, read_frames  # noqa: E402


def naive(checkpoint: Path, device: str, video: Path, out: Path, threshold: float) -> int:
    """The obvious script: load the model, then decode, predict, annotate and write frame by frame."""
    import cv2
    import rfdetr

    model = rfdetr.from_checkpoint(str(checkpoint), device=device)
    info = probe(video)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), info.fps, (info.width, info.height))
    n = 0
    for frame in read_frames(video):
        det = model.predict(np.ascontiguousarray(frame[:, :, ::-1]), threshold=threshold)
        det = det[det.class_id < len(model.class_names)]
        writer.write(annotate(frame, det, list(model.class_names)))
        n += 1
    writer.release()
    return n


def model_only(predictor: Predictor, frames: list[np.ndarray], batch_size: int, threshold: float) -> int:
    for batch in batched(frames, batch_size):
        predictor(batch, threshold)
    return len(frames)


def agreement(predictor: Predictor, reference: Predictor, frames: list[np.ndarray]) -> str:
    """Median relative difference of the 20 best confidences per frame, and the largest distance (px)
    from one of the 5 best boxes to its nearest float32 box, at threshold 0."""
    confidence, shift = [], []
    for batch in batched(frames, predictor.batch_size):
        for a, b in zip(predictor(batch, 0.0), reference(batch, 0.0)):
            top_a, top_b = np.sort(a.confidence)[-20:], np.sort(b.confidence)[-20:]
            confidence.append(float(np.median(np.abs(top_a / top_b - 1))))
            shift += [float(np.abs(b.xyxy - box).max(axis=1).min()) for box in a.xyxy[np.argsort(a.confidence)[-5:]]]
    return f"confidence {100 * statistics.median(confidence):.2f}% (median), boxes within {max(shift):.2f} px"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--video", type=Path, help="default: a generated 640x480 video")
    parser.add_argument("--frames", type=int, default=200, help="length of the generated video")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="the workflow's inference.precision")
    args = parser.parse_args()

    device = pick_device()
    predictor = Predictor(args.checkpoint, device, args.batch_size, log=lambda m: None, precision=args.precision)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = args.video
        if video is None:
            video = tmp / "bench.mp4"
            write_demo_video(video, "both", clip=7, frames=args.frames, width=640, height=480)
        frames = [np.ascontiguousarray(f[:, :, ::-1]) for f in read_frames(video)]
        model_only(predictor, frames[: args.batch_size * 2], args.batch_size, args.threshold)  # warm-up
        rates: dict[str, list[float]] = {"naive loop": [], "workflow": [], "model only": []}
        for r in range(args.repeats):
            for label in rates:
                start = time.perf_counter()
                if label == "naive loop":
                    n = naive(args.checkpoint, device, video, tmp / f"naive{r}.mp4", args.threshold)
                elif label == "workflow":
                    n = run_inference(
                        video,
                        args.checkpoint,
                        tmp / f"wf{r}.mp4",
                        tmp / f"wf{r}.json",
                        InferenceSettings(args.threshold, args.batch_size, precision=args.precision),
                        log=lambda m: None,
                    )["video"]["frame_count"]
                else:
                    n = model_only(predictor, frames, args.batch_size, args.threshold)
                rates[label].append(n / (time.perf_counter() - start))
    med = {k: statistics.median(v) for k, v in rates.items()}
    info = probe(video) if args.video else None
    size = f"{info.width}x{info.height}" if info else "640x480"
    print(
        f"device {device}, {predictor.precision}, {len(frames)} frames of {size}, batch {args.batch_size}, "
        f"{args.repeats} repeats (median)"
    )
    for label, value in med.items():
        print(f"  {label:<12} {value:8.1f} frames/s")
    print(f"  ratio workflow / naive loop: {med['workflow'] / med['naive loop']:.2f}x")
    print(f"  workflow / model only: {100 * med['workflow'] / med['model only']:.0f}%")
    reference = Predictor(args.checkpoint, device, args.batch_size, log=lambda m: None, precision="float32")
    print(
        f"  {predictor.precision} vs float32 on {2 * args.batch_size} frames: {agreement(predictor, reference, frames[: 2 * args.batch_size])}"
    )


if __name__ == "__main__":
    main()
