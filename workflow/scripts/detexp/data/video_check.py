"""The dry run's check of a test video: its container opens and its first frame decodes (PyAV reads
the headers and one frame: milliseconds a video), so that an empty, corrupt or cut-short file, or one of
an unknown container or codec, is refused before any GPU allocation instead of in the infer job after
training. The infer job reads videos with OpenCV (detexp.data.video); both decode through FFmpeg."""

from __future__ import annotations

from pathlib import Path


def video_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as a video, or None."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "holds no video stream"
            next(container.decode(container.streams.video[0]))
    except StopIteration:
        return "has no decodable frame"
    except av.error.FFmpegError as err:
        reason = getattr(err, "strerror", None) or str(err)
        return f"cannot be read as a video ({reason}): an empty or cut-short file, or an unknown container or codec"
    return None
