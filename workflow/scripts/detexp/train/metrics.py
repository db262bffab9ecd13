"""The per-epoch metrics rfdetr's Lightning trainer logs (metrics.csv), read back."""

from __future__ import annotations

import csv
from pathlib import Path


def read_metrics(metrics_csv: Path) -> list[dict[str, float]]:
    """Lightning's metrics.csv merged into one row per epoch (it writes train and val rows apart)."""
    rows: dict[int, dict[str, float]] = {}
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            if not row.get("epoch"):
                continue
            epoch = int(float(row["epoch"]))
            merged = rows.setdefault(epoch, {"epoch": epoch})
            for key, value in row.items():
                if key != "epoch" and value not in ("", None):
                    merged[key] = float(value)
    return [rows[e] for e in sorted(rows)]
