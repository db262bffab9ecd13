"""Equal compute: how far a run's training images seen lie from its reference's, and when that is
too far to credit a difference to the data alone."""

from __future__ import annotations

import math
from typing import Any

# More than this share above or below its reference's images seen, a run's comparison is not at equal
# compute: the comparison and the findings say so.
EQUAL_COMPUTE_MARGIN = 0.10


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def compute_gap(images_seen: Any, reference_images_seen: Any) -> float | None:
    """The run's training images seen relative to its reference's, minus 1 (+0.25: a quarter more),
    where it lies beyond EQUAL_COMPUTE_MARGIN; None within it or where a figure is missing."""
    run, reference = _number(images_seen), _number(reference_images_seen)
    if run is None or not reference:
        return None
    gap = run / reference - 1
    return gap if abs(gap) > EQUAL_COMPUTE_MARGIN else None


def describe_gap(gap: float, images_seen: Any, reference_images_seen: Any, reference: str) -> str:
    """'it saw 25% more training images than its baseline (3,200 vs 2,560)'."""
    direction = "more" if gap > 0 else "fewer"
    return (
        f"it saw {abs(gap):.0%} {direction} training images than {reference} "
        f"({float(images_seen):,.0f} vs {float(reference_images_seen):,.0f})"
    )
