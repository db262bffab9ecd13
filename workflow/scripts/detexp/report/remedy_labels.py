"""A run's remedies for imbalance in words, as the tables, plots and findings name them."""

from __future__ import annotations

from typing import Any

# The data-level remedies, by the dataset's sampling method (dataset_stats.json).
SAMPLING_REMEDIES = {
    "oversampling": "oversampling",
    "repeat factor": "repeat-factor sampling",
    "instance-aware repeat factor": "instance-aware repeat-factor sampling",
}
# Plot markers, by the first part of a remedy's name that matches (none: the plain marker).
REMEDY_MARKERS = (
    ("oversampling + ", "P"),
    ("class-weighted loss", "*"),
    ("instance-aware", "d"),
    ("repeat-factor", "D"),
    ("oversampling", "^"),
)


def remedy_of(summary: dict[str, Any]) -> str:
    """A run's remedies in words ("oversampling + class-weighted loss (effective number)"), or "none"."""
    sampling = summary["dataset"].get("sampling_method", "fractions")
    parts = [SAMPLING_REMEDIES[p] for p in sampling.split(" + ") if p in SAMPLING_REMEDIES]
    spec = summary["config"]["experiment"].get("class_loss_weights")
    if spec:
        parts.append("class-weighted loss (" + (spec["method"].replace("_", " ") if "method" in spec else "by hand") + ")")
    return " + ".join(parts) or "none"


def remedy_marker(remedy: str) -> str:
    """The plot marker of a remedy ("" for none)."""
    return "" if remedy == "none" else next((m for key, m in REMEDY_MARKERS if key in remedy), "X")
