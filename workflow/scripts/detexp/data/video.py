"""Video reading (OpenCV) and browser-playable H.264 writing (PyAV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np


class VideoError(ValueError):
    """A video cannot be read or written; the message names the file and the reason."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (frame_count may be wrong for some AVI files)."""

    path: str
    fps: float
    width: int
    height: int
    frame_count: int


def probe(path: str | Path) -> VideoInfo:
    """Open a video and read its metadata, failing with the file name if it cannot be decoded."""
    import cv2

    path = str(path)
    if not Path(path).is_file():
        raise VideoError(f"{path}: video file not found")
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: cannot open the video (unknown container or codec, or a corrupt file)")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(f"{path}: the video has no decodable frames")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        return VideoInfo(
            path=path,
            fps=float(fps) if fps > 0 else 25.0,
            width=int(frame.shape[1]),
            height=int(frame.shape[0]),
            frame_count=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
        )
    finally:
        cap.release()


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield every frame (BGR, HxWx3 uint8) to the real end of the stream, whatever the header says."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open the video")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


class H264Writer:
    """Writes BGR frames as H.264 (yuv420p) MP4, which browsers play; OpenCV's wheels cannot."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int, crf: int = 23) -> None:
        import av
        from fractions import Fraction

        self.path = str(path)
        self._container = av.open(self.path, mode="w")
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        # yuv420p needs even sizes: pad odd ones by one pixel rather than rescale.
        self._stream.width = width + width % 2
        self._stream.height = height + height % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self._pad = (height % 2, width % 2)
        self.frames_written = 0

    def write(self, frame_bgr: np.ndarray) -> None:
        import av

        if any(self._pad):
            frame_bgr = np.pad(frame_bgr, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_bgr), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
