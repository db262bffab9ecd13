"""Which frames a run trains on: splits by clip (whole clips to one split), the per-class draws of
training frames, and the remedies that repeat frames (oversampling, repeat-factor sampling).

Every choice is a seeded, deterministic ranking (`unit_key`): one project and seed give one draw on
every machine, and a smaller fraction draws a subset of a larger one."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from ..layout import SPLIT_NAMES
from .project import Frame, Project
from .sources import DatasetError


def unit_key(*parts: object) -> float:
    """A deterministic uniform number in [0, 1) for the given parts (stable across runs and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# A grouping that leaves most clips with one frame has most likely not found the clips (a name pattern
# it does not know): checked from this many frames on, so that a tiny test project of stills passes.
MIN_FRAMES_FOR_CLIP_CHECK = 20


def _check_grouping(frames: list[Frame], by_clip: dict[str, list[Frame]], clip_rule: str) -> None:
    """Refuse a grouping in which more than half of the clips hold a single frame: near-identical
    neighbouring frames would then land on both sides of the split."""
    single = [members[0] for members in by_clip.values() if len(members) == 1]
    if len(frames) < MIN_FRAMES_FOR_CLIP_CHECK or len(single) * 2 <= len(by_clip):
        return
    example = single[0]
    raise DatasetError(
        f"the {len(frames)} frames form {len(by_clip)} clips, {len(single)} of them of a single frame (grouped by "
        f"{clip_rule}; e.g. frame {example.file_name!r} is in clip {example.clip!r}): neighbouring frames of one clip "
        "would land in train, valid and test. Set splits.clip_regex so that its `clip` group names each frame's clip "
        "(it is matched against the file name without extension and without exporter suffixes such as "
        r"Roboflow's _jpg.rf.<hash>; e.g. '^(?P<clip>.+?)_\d+$' for clipA_0001.jpg), or give the COCO images a "
        "video_id; for a project of truly independent photos, set splits.group_frames: false"
    )


def clip_groups(frames: list[Frame], group_frames: bool = True) -> dict[str, list[Frame]]:
    """Frames by clip; with `group_frames` false, every frame is a clip of its own (independent photos)."""
    by_clip: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        by_clip[f.clip if group_frames else f.key].append(f)
    return by_clip


def split_by_clip(
    frames: list[Frame],
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    clip_rule: str = Project.clip_rule,
    group_frames: bool = True,
) -> dict[str, list[str]]:
    """Assign whole clips to splits, in a seeded order, until each held-out split has its share.

    `clip_rule` says how the frames were grouped into clips, for the messages when the grouping looks
    wrong (mostly one-frame clips) or no split can be made. With `group_frames` false every frame is
    its own clip (a project of independent photos: said explicitly, never assumed)."""
    by_clip = clip_groups(frames, group_frames)
    if group_frames:
        _check_grouping(frames, by_clip, clip_rule)
    clips = sorted(by_clip, key=lambda c: unit_key(seed, "split", c))
    total = len(frames)
    targets = [("test", test_fraction * total), ("valid", valid_fraction * total)]
    splits: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    for clip in clips:
        members = [f.file_name for f in by_clip[clip]]
        for name, target in targets:
            have = len(splits[name])
            # take the clip while it brings the split closer to its target size
            closer = abs(have + len(members) - target) <= abs(have - target)
            if target > 0 and (have == 0 or (have < target and closer)):
                splits[name].extend(members)
                break
        else:
            splits["train"].extend(members)
    for name in SPLIT_NAMES:
        if not splits[name] and (name == "train" or dict(targets)[name] > 0):
            example = frames[0] if frames else None
            shown = f"; e.g. frame {example.file_name!r} is in clip {example.clip!r}" if example else ""
            raise DatasetError(
                f"split {name!r} has no frames: the {total} frame(s) form {len(clips)} clip(s), grouped by "
                f"{clip_rule}{shown} - too few clips for splits.valid_fraction {valid_fraction} and "
                f"splits.test_fraction {test_fraction}. Whole clips go to one split (no near-duplicate frames "
                "across splits): set splits.clip_regex so that its `clip` group tells your clips apart, or "
                "lower the fractions (for a project of independent photos: splits.group_frames: false)"
            )
        splits[name].sort()
    return splits


def assign_splits(
    frames: list[Frame],
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    clip_rule: str = Project.clip_rule,
    group_frames: bool = True,
) -> dict[str, list[str]]:
    """The source's own splits when it has them (a missing valid or test split is carved from
    train by clip), else a split by clip."""
    if not any(f.split for f in frames):
        return split_by_clip(frames, valid_fraction, test_fraction, seed, clip_rule, group_frames)
    splits = {s: sorted(f.file_name for f in frames if f.split == s) for s in SPLIT_NAMES}
    missing = {s: frac for s, frac in (("valid", valid_fraction), ("test", test_fraction)) if not splits[s]}
    if missing:
        train = [f for f in frames if f.split == "train"]
        scale = len(frames) / max(len(train), 1)  # fractions are of the whole project
        carved = split_by_clip(
            train, missing.get("valid", 0) * scale, missing.get("test", 0) * scale, seed, clip_rule, group_frames
        )
        splits["train"] = carved["train"]
        for s in missing:
            splits[s] = carved[s]
    return splits


def split_statistics(
    frames: list[Frame], splits: dict[str, list[str]], clip_rule: str, group_frames: bool = True
) -> dict[str, Any]:
    """Frames and clips per split, how frames were grouped, and the clips found in more than one split
    (only an export's own splits can have those: a split by clip never does)."""
    split_of = {name: split for split in SPLIT_NAMES for name in splits[split]}
    clips_in: dict[str, set[str]] = defaultdict(set)
    for clip, members in clip_groups(frames, group_frames).items():
        for f in members:
            if f.file_name in split_of:
                clips_in[clip].add(split_of[f.file_name])
    return {
        "grouped_by": clip_rule if group_frames else "none (splits.group_frames: false: every frame is its own clip)",
        "frames": {s: len(splits[s]) for s in SPLIT_NAMES},
        "clips": {s: sum(s in where for where in clips_in.values()) for s in SPLIT_NAMES},
        "single_frame_clips": sum(len(m) == 1 for m in clip_groups(frames, group_frames).values()),
        "clips_in_several_splits": sorted(c for c, where in clips_in.items() if len(where) > 1),
    }


def _ranked(frames: Iterable[Frame], *key: object) -> list[Frame]:
    """Frames in the order of seeded keys of their frame keys: the one ranking behind every draw and repeat."""
    return sorted(frames, key=lambda f: unit_key(*key, f.key))


def _share(fraction: float, n: int) -> int:
    """round(fraction * n), halves up (not Python's round-half-to-even)."""
    return int(fraction * n + 0.5)


def _draw(frames: list[Frame], fraction: float, *key: object) -> set[str]:
    """The file names of the first round(fraction * n) frames in the ranking (at least one if fraction > 0)."""
    ranked = _ranked(frames, *key)
    count = _share(fraction, len(ranked))
    if count == 0 and ranked and fraction > 0:
        count = 1
    return {f.file_name for f in ranked[:count]}


FRAME_SAMPLING_MODES = ("union", "exact")


# A class keeping more than this share above its request (through frames drawn for other classes) is
# reported: a warning in the job's log, a note in the comparison.
OVER_KEPT_MARGIN = 0.05


@dataclass
class TrainingDraw:
    """The training frames one experiment keeps, and for each class what was asked and what was kept."""

    kept: list[str]
    per_class: dict[str, dict[str, Any]]

    def over_kept(self) -> list[str]:
        """Classes that keep clearly more than requested, through frames drawn for other classes."""
        return [
            c
            for c, s in self.per_class.items()
            if s["entered_through"] and s["kept_share"] > s["requested_share"] + OVER_KEPT_MARGIN
        ]


def draw_training_frames(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    background_fraction: float = 0.0,
    mode: str = "union",
) -> TrainingDraw:
    """Keep `fractions[c]` of the frames holding class c, for every class.

    Frames are ranked per class by a key drawn from (seed, class, frame key), and the first
    round(f * n) are drawn: exact counts, deterministic, and nested (a smaller fraction draws a
    subset of a larger one). `union` keeps every frame drawn for any class, so a frame holding two
    classes enters through either; `exact` keeps a frame only if, for each class it holds with a
    fraction below 1, it was drawn for that class. Of the frames holding none of the classes,
    `background_fraction` is kept. A fraction above 1 draws every frame (repeats: `frame_copies`).
    """
    if mode not in FRAME_SAMPLING_MODES:
        raise DatasetError(f"frame_sampling: {mode!r} is not allowed - one of: {', '.join(FRAME_SAMPLING_MODES)}")
    holding = {cls: [f for f in frames if label in f.labels()] for label, cls in enumerate(classes)}
    names_of = {cls: {f.file_name for f in holding[cls]} for cls in classes}
    drawn = {cls: _draw(holding[cls], min(fractions[cls], 1.0), seed, cls) for cls in classes}
    union = set().union(*drawn.values()) | _draw([f for f in frames if not f.boxes], background_fraction, seed, "\x00background")
    kept = union
    if mode == "exact":
        undrawn = set().union(*(names_of[c] - drawn[c] for c in classes if fractions[c] < 1))
        kept = union - undrawn
    per_class = {}
    for cls in classes:
        names = names_of[cls]
        kept_here = names & kept
        others = kept_here - drawn[cls]
        per_class[cls] = {
            "requested_fraction": fractions[cls],
            "requested_share": min(fractions[cls], 1.0),
            "frames_available": len(names),
            "frames_drawn": len(drawn[cls]),
            "frames_kept": len(kept_here),
            "kept_share": round(len(kept_here) / len(names), 4) if names else None,
            # frames of this class kept although not drawn for it: which classes' draws brought them
            "entered_through": {o: n for o in classes if o != cls and (n := len(others & drawn[o]))},
            # frames drawn for this class that exact sampling dropped for another class's request
            "dropped_by_exact": len((drawn[cls] & union) - kept),
        }
        if not kept_here:
            raise DatasetError(
                f"class {cls!r} has no training frames after sampling (fraction {fractions[cls]}, frame_sampling "
                f"{mode}, {len(names)} frames hold it before sampling)"
            )
    return TrainingDraw(sorted(kept), per_class)


def sample_training_frames(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    background_fraction: float = 0.0,
    mode: str = "union",
) -> list[str]:
    """The file names of the training frames `draw_training_frames` keeps."""
    return draw_training_frames(frames, classes, fractions, seed, background_fraction, mode).kept


REPEAT_MODES = {"sqrt": math.sqrt, "linear": lambda x: x}


def oversampling_factors(fractions: dict[str, float], oversample: dict[str, float]) -> dict[str, float]:
    """Each class's oversampling factor: its fraction when above 1, else its `oversample` entry, else 1."""
    return {c: f if f > 1 else float(oversample.get(c, 1.0)) for c, f in fractions.items()}


def class_frequencies(frames: list[Frame], copies: dict[str, int], classes: list[str], frequency: str) -> dict[str, float]:
    """Each class's frequency f_c in the training set (copies counted), by `repeat_factor.frequency`.

    images (LVIS RFS, Gupta et al. 2019): the share of training images holding c.
    images_and_instances (IRFS, Yaman et al. 2023): the geometric mean of that share and the share of
    training instances (boxes) that are of class c, sqrt(f_img,c * f_inst,c)."""
    images = sum(copies[f.file_name] for f in frames)
    instances = sum(copies[f.file_name] * len(f.boxes) for f in frames)
    out = {}
    for label, cls in enumerate(classes):
        f_img = sum(copies[f.file_name] for f in frames if label in f.labels()) / images if images else 0.0
        if frequency == "images":
            out[cls] = f_img
            continue
        boxes = sum(copies[f.file_name] * sum(b.label == label for b in f.boxes) for f in frames)
        out[cls] = math.sqrt(f_img * boxes / instances) if instances else 0.0
    return out


def class_repeat_factors(
    frames: list[Frame], copies: dict[str, int], classes: list[str], repeat_factor: dict[str, Any]
) -> dict[str, float]:
    """Repeat factors per class: r_c = min(max_repeats, max(1, g(t / f_c))), where f_c is the class's
    frequency (`class_frequencies`: images, or images and instances) and g is sqrt or the identity."""
    frequencies = class_frequencies(frames, copies, classes, repeat_factor["frequency"])
    g = REPEAT_MODES[repeat_factor["mode"]]
    factors = {}
    for cls, share in frequencies.items():
        raw = g(repeat_factor["threshold"] / share) if share else 1.0
        factors[cls] = min(float(repeat_factor["max_repeats"]), max(1.0, raw))
    return factors


def frame_copies(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    oversample: dict[str, float] | None = None,
    repeat_factor: dict[str, Any] | None = None,
) -> tuple[dict[str, int], dict[str, float]]:
    """How many times each sampled training frame enters the training set, and the repeat factor of each class.

    Oversampling by factor o (a fraction above 1, or `oversample`): the frames holding the class each
    get floor(o) copies, and the first round((o - floor(o)) * n) of them in the draw's ranking one more
    (so the frames repeated at 1.5 are among those repeated at 1.75). A frame holding several classes
    gets the largest count of its classes. Repeat-factor sampling (Gupta et al., LVIS, 2019) then
    multiplies: r(I) = max over the classes c in frame I of r_c (`class_repeat_factors`, 1 for a
    frame with none), rounded to floor(r) or ceil(r) by a seeded draw per frame (ceil with
    probability r - floor(r)).
    """
    factors = oversampling_factors(fractions, oversample or {})
    copies = {f.file_name: 1 for f in frames}
    for label, cls in enumerate(classes):
        factor = factors[cls]
        if factor <= 1:
            continue
        ranked = _ranked((f for f in frames if label in f.labels()), seed, cls)  # the draw's order
        whole = int(factor)
        extra = _share(factor - whole, len(ranked))
        for rank, f in enumerate(ranked):
            copies[f.file_name] = max(copies[f.file_name], whole + (rank < extra))
    class_factors = {c: 1.0 for c in classes}
    if repeat_factor:
        class_factors = class_repeat_factors(frames, copies, classes, repeat_factor)
        for frame in frames:
            r = max((class_factors[classes[label]] for label in frame.labels()), default=1.0)
            whole = math.floor(r)
            repeats = whole + (unit_key(seed, "repeat_factor", frame.key) < r - whole)
            copies[frame.file_name] *= repeats
    return copies, class_factors


def sampling_method(fractions: dict[str, float], oversample: dict[str, float], repeat_factor: dict | None) -> str:
    """How a training set was drawn, in words for tables: fractions, oversampling, repeat factor."""
    oversampled = any(f > 1 for f in oversampling_factors(fractions, oversample).values())
    parts = ["oversampling"] if oversampled else []
    if repeat_factor:
        instance_aware = repeat_factor["frequency"] == "images_and_instances"
        parts.append("instance-aware repeat factor" if instance_aware else "repeat factor")
    return " + ".join(parts) or "fractions"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def sampling_warnings(stats: dict[str, Any]) -> list[str]:
    """One `warning:` line per class that keeps clearly more training frames than requested (frames
    drawn for other classes hold it too), and per class that lost frames to `frame_sampling: exact`."""
    lines = []
    per_class = stats["per_class_sampling"]
    for cls in stats["over_kept_classes"]:
        s = per_class[cls]
        through = ", ".join(f"{o!r} ({n})" for o, n in s["entered_through"].items())
        lines.append(
            f"warning: class {cls!r} keeps {_percent(s['kept_share'])} of its training frames ({s['frames_kept']} of "
            f"{s['frames_available']}), not the {_percent(s['requested_share'])} requested ({s['frames_drawn']}): "
            f"{s['frames_kept'] - s['frames_drawn']} more entered through frames drawn for other classes (of them, "
            f"drawn for {through}: a frame drawn for several classes counts for each) (frame_sampling: union); "
            "frame_sampling: exact keeps the request"
        )
    for cls, s in per_class.items():
        if s["dropped_by_exact"]:
            lines.append(
                f"warning: class {cls!r} lost {s['dropped_by_exact']} training frame(s) to frame_sampling: exact "
                f"(frames that also hold a class they were not drawn for): it keeps {_percent(s['kept_share'])} "
                f"({s['frames_kept']} of {s['frames_available']}), {_percent(s['requested_share'])} requested"
            )
    return lines
