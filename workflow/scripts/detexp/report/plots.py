"""The study's figures (matplotlib, PNG): accuracy against the sampled fraction and the achieved class
ratio, training curves, and strips of annotated video frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .remedy_labels import remedy_marker, remedy_of

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


def runs_on_axis(summaries: list[dict[str, Any]], cls: str) -> list[dict[str, Any]]:
    """The runs drawn on `cls`'s panel: those that sample it below 1.0, and those that sample every
    class whole (the reference; a remedy on the full data). A run that lowers only other classes says
    nothing about `cls`'s share and is left off its axis."""

    def fractions(s: dict[str, Any]) -> dict[str, float]:
        return s["config"]["experiment"]["frame_sample_fractions"]

    return [s for s in summaries if fractions(s)[cls] < 1.0 or all(f >= 1.0 for f in fractions(s).values())]


def _shares(s: dict[str, Any], cls: str) -> tuple[float, float]:
    """(kept, requested) share of `cls`'s training frames in a run (the requested fraction where an
    older summary has no per-class sampling record)."""
    sampling = s["dataset"].get("per_class_sampling", {}).get(cls)
    requested = s["config"]["experiment"]["frame_sample_fractions"][cls]
    return (sampling["kept_share"], sampling["requested_share"]) if sampling else (requested, requested)


def _x_values(summaries: list[dict[str, Any]], axis: str, cls: str) -> list[float]:
    if axis == "fraction":
        return [_shares(s, cls)[0] for s in summaries]
    # repeated frames counted: what training iterates over (the same as distinct frames without remedies)
    return [s["dataset"].get("achieved_ratio_effective", s["dataset"]["achieved_ratio"])["frames"][cls] for s in summaries]


def _draw_panel(ax: Any, summaries: list[dict[str, Any]], axis: str, x_cls: str, classes: list[str]) -> None:
    """One varied class's panel: every class's AP against `x_cls`'s kept share (or ratio)."""
    # One set of lines per sweep point and remedy (remedies apart from the plain fractions they start
    # from, with markers of their own); replicates of one point share its x values (error bars).
    points_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in summaries:
        swept = (s.get("run") or {}).get("swept") or {}
        points_of.setdefault((", ".join(f"{k}={v}" for k, v in swept.items()), remedy_of(s)), []).append(s)
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
                # Only an experiment's replicates are averaged (their x too: each draw keeps its own
                # share); experiments that share an x stay apart.
                of_experiment: dict[str, tuple[list[float], list[float], list[float]]] = {}
                for e, x, y, s in zip(experiments, xs, ys, group):
                    xs_e, ys_e, req_e = of_experiment.setdefault(e, ([], [], []))
                    xs_e.append(x)
                    req_e.append(_shares(s, x_cls)[1])
                    ys_e.extend([] if np.isnan(y) else [y])
                points = sorted(
                    (np.mean(x), np.mean(y) if y else np.nan, np.std(y, ddof=1) if len(y) > 1 else 0.0, np.mean(r), len(y))
                    for x, y, r in of_experiment.values()
                )
                xs_drawn, mean, err, requested, counts = (list(column) for column in zip(*points))
                tags = [t for t in (point, method if marker else "") if t]
                if any(err):  # say what the bars are: not a confidence interval
                    n = sorted({c for c in counts if c > 1})
                    tags.append(f"mean \u00b1 SD of {n[0] if len(n) == 1 else f'{n[0]}-{n[-1]}'} replicates")
                label = f"{cls} {'AP50:95' if metric == 'AP_50_95' else 'AP50'}" + (f" ({'; '.join(tags)})" if tags else "")
                color = f"C{(i + j * len(classes)) % 10}"
                ax.errorbar(xs_drawn, mean, yerr=err if any(err) else None, fmt=style, color=color, label=label, capsize=3)
                if axis == "fraction":  # the requested share, where the kept one differs, joined to it
                    for x, y, r in zip(xs_drawn, mean, requested):
                        if abs(x - r) > 0.005 and not np.isnan(y):
                            ax.plot([r, x], [y, y], ":", color="0.55", linewidth=1)
                            ax.plot([r], [y], "|", color="0.35", markersize=9, label="requested share (kept share: the marker)")
        for x in sorted(set(xs)):
            sharing = sorted({e for e, ex in zip(experiments, xs) if ex == x})
            if len(sharing) > 1:  # say it: their markers stack on one x
                ha = "left" if x < 0.15 else "right" if x > 0.85 else "center"
                ax.annotate(
                    f"{len(sharing)} experiments\nat this x",
                    (x, 1.0),
                    ha=ha,
                    va="top",
                    fontsize=7,
                    color="0.3",
                    annotation_clip=False,
                )


def plot_ap_against(summaries: list[dict[str, Any]], axis: str, out: str | Path) -> None:
    """Per-class AP@50:95 (solid) and AP@50 (dashed), one panel per varied class, against that class's
    kept share of its training frames (`axis="fraction"`, the requested share marked where it differs)
    or its training images over the largest class's (`axis="ratio"`); on a class's panel only the runs
    that vary it and the runs on the full data (runs_on_axis). Error bars where an experiment has
    replicates (their sample standard deviation); experiments that land on one x are drawn as separate
    markers there, with a note saying how many."""
    plt = _pyplot()
    classes = summaries[0]["config"]["classes"]
    varied = varied_classes(summaries) or classes[:1]
    fig, axes = plt.subplots(1, len(varied), figsize=(5.6 * len(varied), 4.4), sharey=True, squeeze=False)
    source = "test split" if summaries[0].get("test") else "validation"
    what = "kept share" if axis == "fraction" else "share of the largest class"
    for ax, x_cls in zip(axes[0], varied):
        _draw_panel(ax, runs_on_axis(summaries, x_cls), axis, x_cls, classes)
        ax.set_xlabel(
            f"kept share of '{x_cls}' training frames"
            if axis == "fraction"
            else f"'{x_cls}' training images (repeats counted)\nover the largest class's"
        )
        ax.set_title(f"varying '{x_cls}'", fontsize=10)
        ax.set_ylim(-0.02, 1.02)
        if axis == "fraction":
            ax.set_xlim(-0.03, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"AP ({source})")
    # one legend for all panels, beside them (never over a point), each label once
    by_label = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(by_label.values(), by_label.keys(), fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"Per-class accuracy against the {what}")
    fig.tight_layout()
    fig.savefig(out, dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)


def plot_training_curves(curves: dict[str, list[dict[str, float]]], out: str | Path) -> None:
    """Training loss and validation mAP@50:95 per epoch, one line per experiment."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (loss_ax, map_ax) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    last_epoch = 1
    for i, (name, rows) in enumerate(curves.items()):
        for ax, key in ((loss_ax, "train/loss"), (map_ax, "val/mAP_50_95")):
            # epochs counted from 1 (rfdetr numbers them from 0): a point at 1 is the first epoch's end
            points = [(r["epoch"] + 1, r[key]) for r in rows if key in r and not np.isnan(r[key])]
            if points:
                last_epoch = max(last_epoch, points[-1][0])
                label = name + (" (1 epoch: one point)" if len(points) == 1 else "")
                ax.plot(*zip(*points), "-o", color=f"C{i}", label=label, markersize=4 if len(points) == 1 else 3)
    loss_ax.set(xlabel="epochs trained", ylabel="training loss", title="Training loss")
    map_ax.set(xlabel="epochs trained", ylabel="mAP@50:95", title="Validation mAP@50:95")
    for ax in (loss_ax, map_ax):
        ax.set_xlim(0.5, last_epoch + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
    # one legend beside both panels (never over a curve), each run once
    by_label = {label: handle for ax in (loss_ax, map_ax) for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(by_label.values(), by_label.keys(), fontsize=8, loc="outside right center")
    fig.savefig(out, dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)


def pick_frames(frame_count: int, n: int) -> list[int]:
    """`n` frame indices spread evenly over a video, ends included."""
    return sorted({int(round(i)) for i in np.linspace(0, frame_count - 1, min(n, frame_count))})


STRIP_FRAMES = 4  # frames per row of a video strip


def plot_video_strip(videos: dict[str, str | Path], out: str | Path, n_frames: int = STRIP_FRAMES) -> None:
    """A grid of annotated frames: one row per run, the same frames in every row."""
    from ..data.video import probe, read_frames

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
