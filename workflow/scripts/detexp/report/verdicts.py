"""The one rule for stating a verdict, and the number formats every view a person reads uses.

A comparison says "higher" or "lower" (for a remedy against its baseline: "wins back" or "costs")
only where its 95% interval excludes 0 and that interval covers training noise: a two-level interval
over replicates and test images. With one training per run the interval covers which test images
were drawn, not which seed and data order the training had, and a study cannot tell an effect from
training noise: the views give the difference and its interval and say, in the verdict's place, that
training noise is unmeasured and how to measure it. findings.md, the compact view, the report and
bench/calibration.py all call `verdict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .columns import Stats
from ..study.replicates import CALIBRATED_REPLICATES, MEASURED_POWER

FEW_REPLICATES = (
    f"**Few replicates**: below {CALIBRATED_REPLICATES} replicates per run the two-level interval was measured to "
    f"find a planted effect rarely (on the bundled demo, person at 25%: {MEASURED_POWER}; BENCHMARKS.md, "
    "'Calibration'), so 'not different' below may mean too few replicates to tell; the verdicts it states held "
    "(planted nulls claimed in 2-4%)."
)
NOISE_UNMEASURED = (
    f"no verdict: training noise is unmeasured (one training per run); replicates: {CALIBRATED_REPLICATES} would measure it"
)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def signed(value: float) -> str:
    """A difference or an interval bound: 3 decimals, and 2 significant digits where those would round
    a non-zero value to 0 (never '+0.000' or '-0.000' for a value that is not 0)."""
    if value == 0:
        return "0.000"
    if abs(value) < 0.0005:
        return f"{value:+.{1 - math.floor(math.log10(abs(value)))}f}"  # 2 significant digits, no exponent
    return f"{value:+.3f}"


def interval(difference: float, low: float, high: float, versus: str = "") -> str:
    """'+0.012 [-0.004, +0.031]'; with `versus`, the run the difference is to: '+0.012 vs quarter [...]'."""
    return f"{signed(difference)}{f' vs {versus}' if versus else ''} [{signed(low)}, {signed(high)}]"


def ap_text(value: Any) -> str:
    """An AP (or F1) as every view shows it, with or without a reference: 3 decimals; '-' for none."""
    return "-" if _missing(value) else f"{value:.3f}"


def percent(share: Any) -> str:
    """A share (0.25) as people read it: '25%'; '-' for none. CSV files keep the fraction."""
    return "-" if _missing(share) else f"{100 * share:.0f}%"


@dataclass(frozen=True)
class Verdict:
    """What a comparison may claim: `direction` 'higher', 'lower' or None (no claim), and the words a
    view prints in the verdict's place."""

    direction: str | None
    text: str


def verdict(row: dict[str, Any], remedy: str | None = None) -> Verdict:
    """The verdict of one comparison row of comparison_stats.csv (`remedy`: the remedy's name where the
    row sets a remedied run against its baseline)."""
    if isinstance(row.get(Stats.NOTE), str) and row[Stats.NOTE]:
        return Verdict(None, "identical training: nothing to compare")
    d = row.get(Stats.DIFFERENCE)
    if _missing(d):
        return Verdict(None, "no AP to compare")
    if int(row.get(Stats.REPLICATES) or 1) < 2:
        return Verdict(None, NOISE_UNMEASURED)
    low, high = row[Stats.LOW], row[Stats.HIGH]
    if _missing(low) or _missing(high) or low <= 0 <= high:
        return Verdict(None, "not different: the interval includes 0")
    direction = "higher" if d > 0 else "lower"
    if remedy:
        size = signed(abs(d)).lstrip("+")  # never '0.000' for a difference that is not 0
        return Verdict(direction, f"{remedy} wins back {size}" if d > 0 else f"{remedy} costs {size}")
    return Verdict(direction, direction)


def neither_detects(comparison: dict[str, Any]) -> bool:
    """Whether both runs of a comparison score an AP of exactly 0 on its class: neither model detects
    it on the test split, so a difference of 0 and its interval [0, 0] say nothing about the data."""
    ap, reference_ap = comparison.get(Stats.AP), comparison.get(Stats.REFERENCE_AP)
    return ap is not None and reference_ap is not None and ap == 0 and reference_ap == 0


NO_SIGNAL = "no signal: neither run detects any {cls} on the test split (AP 0 in both), so this comparison cannot tell them apart"
