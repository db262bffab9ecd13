"""The study's figures (matplotlib, PNG): accuracy against the sampled fraction and the achieved class
ratio, training curves, and strips of annotated video frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .remedies import remedy_marker, remedy_of

FIGURE_DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def varied_classes(summaries: list[dict[str, Any]]) -> list[str]:
    """Classes whose sampled fraction differs between experiments (the study's x axis)."""
    classes = summaries[0]["config"]["classes"]
    fractions = [s["config"]["experiment"]["frame_sample_fractions"] for s in summaries]
    return [c for c in classes if len({f[c] for f in fractions}) > 1]


def class_ap(summary: dict[str, Any], cls: str, metric: str) -> float | None:
    """Held-out AP of one class (`AP_50_95` or `AP_50`), else the validation AP@50:95, else None."""
    test = summary.get("test")
    if test:
        return test["per_class"][cls][metric]
    if metric == "AP_50_95":
        return summary["validation"]["per_class_AP_50_95"].get(cls)
    return None


def _x_values(summaries: list[dict[str, Any]], axis: str, cls: str) -> list[float]:
    if axis == "fraction":
        return [s["config"]["experiment"]["frame_sample_fractions"][cls] for s in summaries]
    # repeated frames counted: what training iterates over (the same as distinct frames without remedies)
    return [s["dataset"].get("achieved_ratio_effective", s["dataset"]["achieved_ratio"])["frames"][cls] for s in summaries]


def plot_ap_against(summaries: list[dict[str, Any]], axis: str, out: str | Path) -> None:
    """Per-class AP@50:95 (solid) and AP@50 (dashed) against the varied class's sampled fraction
    (`axis="fraction"`) or its training images over the largest class's (`axis="ratio"`); error bars where
    an experiment has replicates (their sample standard deviation). Experiments that land on one x are
    drawn as separate markers there, with a note saying how many."""
    plt = _pyplot()
    classes = summaries[0]["config"]["classes"]
    varied = varied_classes(summaries) or classes[:1]
    x_cls = varied[0]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    # One set of lines per sweep point and remedy (remedies apart from the plain fractions they start
    # from, with markers of their own); replicates of one point share its x values (error bars).
    points_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in summaries:
        swept = (s.get("run") or {}).get("swept") or {}
        method = remedy_of(s)
        points_of.setdefault((", ".join(f"{k}={v}" for k, v in swept.items()), method), []).append(s)
    for j, ((point, method), group) in enumerate(points_of.items()):
        marker = remedy_marker(method)
        styles = {"AP_50_95": "-" + (marker or "o"), "AP_50": "--" + (marker or "s")}
        xs = np.array(_x_values(group, axis, x_cls), dtype=float)
        experiments = [s["experiment"] for s in group]
        for i, cls in enumerate(classes):
            for metric, style in styles.items():
                ys = np.array([np.nan if (v := class_ap(s, cls, metric)) is None else v for s in group], dtype=float)
                if np.isnan(ys).all():
                    continue
                # Only an experiment's replicates are averaged; experiments that share an x stay apart.
                of_experiment: dict[str, tuple[float, list[float]]] = {}
                for e, x, y in zip(experiments, xs, ys):
                    of_experiment.setdefault(e, (x, []))[1].extend([] if np.isnan(y) else [y])
                points = sorted(
                    (x, np.mean(v) if v else np.nan, np.std(v, ddof=1) if len(v) > 1 else 0.0) for x, v in of_experiment.values()
                )
                xs_drawn, mean, err = (list(column) for column in zip(*points))
                tags = [t for t in (point, method if marker else "") if t]
                label = f"{cls} {'AP50:95' if metric == 'AP_50_95' else 'AP50'}" + (f" ({'; '.join(tags)})" if tags else "")
                color = f"C{(i + j * len(classes)) % 10}"
                ax.errorbar(xs_drawn, mean, yerr=err if any(err) else None, fmt=style, color=color, label=label, capsize=3)
        for x in sorted(set(xs)):
            sharing = sorted({e for e, ex in zip(experiments, xs) if ex == x})
            if len(sharing) > 1:  # say it: their markers stack on one x
                ax.annotate(f"{len(sharing)} experiments\nat this x", (x, 1.0), ha="center", va="top", fontsize=7, color="0.3")
    source = "test split" if summaries[0].get("test") else "validation"
    what = "requested fraction" if axis == "fraction" else "share of the largest class"
    of = (
        f"of '{x_cls}' training frames"
        if axis == "fraction"
        else f"'{x_cls}' training images (repeats counted) over the largest class's"
    )
    ax.set_xlabel(f"{what}: {of}" + (" (all varied classes: " + ", ".join(varied) + ")" if len(varied) > 1 else ""))
    ax.set_ylabel(f"AP ({source})")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Per-class accuracy against the {what}")
    fig.savefig(out, dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)


def plot_training_curves(curves: dict[str, list[dict[str, float]]], out: str | Path) -> None:
    """Training loss and validation mAP@50:95 per epoch, one line per experiment."""
    plt = _pyplot()
    fig, (loss_ax, map_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for i, (name, rows) in enumerate(curves.items()):
        for ax, key in ((loss_ax, "train/loss"), (map_ax, "val/mAP_50_95")):
            points = [(r["epoch"], r[key]) for r in rows if key in r and not np.isnan(r[key])]
            if points:
                ax.plot(*zip(*points), "-o", color=f"C{i}", label=name, markersize=3)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    map_ax.set(xlabel="epoch", ylabel="mAP@50:95", title="Validation mAP@50:95")
    for ax in (loss_ax, map_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(out, dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)


def pick_frames(frame_count: int, n: int) -> list[int]:
    """`n` frame indices spread evenly over a video, ends included."""
    return sorted({int(round(i)) for i in np.linspace(0, frame_count - 1, min(n, frame_count))})


STRIP_FRAMES = 4  # frames per row of a video strip


def plot_video_strip(videos: dict[str, str | Path], out: str | Path, n_frames: int = STRIP_FRAMES) -> None:
    """A grid of annotated frames: one row per run, the same frames in every row."""
    from .video import probe, read_frames

    plt = _pyplot()
    counts = {name: probe(path).frame_count for name, path in videos.items()}
    indices = pick_frames(min(counts.values()), n_frames)
    fig, axes = plt.subplots(len(videos), len(indices), figsize=(2.6 * len(indices), 2.2 * len(videos)), squeeze=False)
    for row, (name, path) in enumerate(videos.items()):
        wanted = set(indices)
        col = 0
        for index, frame in enumerate(read_frames(path)):
            if index in wanted:
                ax = axes[row][col]
                ax.imshow(frame[:, :, ::-1])
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"frame {index}", fontsize=9)
                if col == 0:
                    ax.set_ylabel(name, fontsize=9)
                col += 1
            if index >= indices[-1]:
                break
    fig.tight_layout()
    fig.savefig(out, dpi=FIGURE_DPI)
    plt.close(fig)
