"""Summaries, the comparison, the collector and the plots, on hand-made experiment summaries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import SCRIPTS
from detexp import layout
from detexp.report.collect import collect, render, study_runs
from detexp.report.plots import plot_ap_against, plot_training_curves, varied_classes
from detexp.report.summary import comparison_table, job_benchmark
from detexp.tables import html_page

CLASSES = ["crane hook", "person"]


def summary(name: str, person: float, ap_person: float | None, ap_hook: float = 0.5, with_test: bool = True) -> dict:
    """A minimal experiment summary with the fields the comparison and the plots read."""
    per_class = {
        c: {"category_id": i + 1, "AP_50_95": ap, "AP_50": None if ap is None else min(1.0, ap + 0.2)}
        for i, (c, ap) in enumerate(zip(CLASSES, [ap_hook, ap_person]))
    }
    return {
        "schema_version": 2,
        "experiment": name,
        "description": f"person at {person:g}",
        "config": {"classes": CLASSES, "experiment": {"frame_sample_fractions": {"crane hook": 1.0, "person": person}}},
        "dataset": {
            "splits": {"train": {"classes": {"crane hook": {"frames": 40}, "person": {"frames": int(40 * person)}}}},
            "achieved_ratio": {"frames": {"crane hook": 1.0, "person": person * 0.9}},
        },
        "training": {"best_epoch": 3, "epochs_run": 5, "wall_time_s": 12.5},
        "validation": {"mAP_50_95": 0.3, "mAP_50": 0.5, "per_class_AP_50_95": {c: 0.3 for c in CLASSES}},
        "test": (
            {"mAP_50_95": 0.4, "mAP_50": 0.6, "f1": 0.5, "best_f1_threshold": 0.35, "per_class": per_class} if with_test else None
        ),
        "videos": {"clip": {"detections": {"crane hook": 3, "person": 4}}},
    }


SUMMARIES = [summary("exp_b", 0.5, 0.4), summary("exp_d", 1.0, 0.6), summary("exp_a", 0.25, 0.2), summary("exp_c", 0.75, None)]


def test_the_comparison_is_ordered_by_fraction_and_keeps_missing_values_empty():
    table = comparison_table(SUMMARIES)
    assert list(table["experiment"]) == ["exp_a", "exp_b", "exp_c", "exp_d"]
    assert list(table["fraction person"]) == [0.25, 0.5, 0.75, 1.0]
    assert list(table["train frames person"]) == [10, 20, 30, 40]
    assert table["test AP50:95 person"].tolist()[:2] == [0.2, 0.4] and pd.isna(table["test AP50:95 person"][2])
    assert table["clip: person detections"].tolist() == [4, 4, 4, 4]
    html = html_page(table, "Comparison of runs")
    assert html.count("<tr") == 5 and "exp_c" in html and "<td>-</td>" in html


def test_the_plots_are_valid_pngs_of_the_expected_size(tmp_path):
    assert varied_classes(SUMMARIES) == ["person"]
    for axis in ("fraction", "ratio"):
        out = tmp_path / f"{axis}.png"
        plot_ap_against(SUMMARIES, axis, out)
        with Image.open(out) as png:
            assert png.format == "PNG" and 600 <= png.size[0] <= 900 and 400 <= png.size[1] <= 650
            assert len(set(np.asarray(png.convert("L")).ravel().tolist())) > 10  # something was drawn
    curves = {
        "exp_a": [{"epoch": 0, "train/loss": 3.0, "val/mAP_50_95": 0.1}, {"epoch": 1, "train/loss": 2.0, "val/mAP_50_95": 0.2}]
    }
    plot_training_curves(curves, tmp_path / "curves.png")
    with Image.open(tmp_path / "curves.png") as png:
        assert png.format == "PNG" and png.size[0] > 900


def _drawn(runs: list[dict], axis: str, out: Path) -> tuple[dict, list[str]]:
    """What plot_ap_against draws: the error-bar series by label, and the notes it writes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series, notes = {}, []
    original_errorbar, original_annotate = plt.Axes.errorbar, plt.Axes.annotate

    def errorbar(self, x, y, yerr=None, **kw):
        series[kw["label"]] = (list(x), list(y), None if yerr is None else list(yerr))
        return original_errorbar(self, x, y, yerr=yerr, **kw)

    def annotate(self, text, xy, **kw):
        notes.append((text, xy[0]))
        return original_annotate(self, text, xy, **kw)

    plt.Axes.errorbar, plt.Axes.annotate = errorbar, annotate
    try:
        plot_ap_against(runs, axis, out)
    finally:
        plt.Axes.errorbar, plt.Axes.annotate = original_errorbar, original_annotate
    return series, notes


def test_replicated_runs_get_error_bars(tmp_path):
    """An experiment's replicates are drawn once, at their mean (error bar: their sample standard deviation)."""
    runs = [summary("r", 0.5, 0.2), summary("r", 0.5, 0.4), summary("full", 1.0, 0.6)]
    series, notes = _drawn(runs, "fraction", tmp_path / "bars.png")
    # the legend says what the bars are and over how many replicates (read alone, they could pass for an interval)
    x, y, err = series["person AP50:95 (mean \u00b1 SD of 2 replicates)"]
    assert x == [0.5, 1.0] and y == pytest.approx([0.3, 0.6]) and err == pytest.approx([0.1 * 2**0.5, 0.0])
    assert notes == []


def test_experiments_on_one_x_stay_apart_and_are_said_to_stack(tmp_path):
    """Three experiments whose varied class ends up at one ratio are three markers, never one averaged point."""
    runs = [summary(name, f, ap) for name, f, ap in (("a", 0.25, 0.1), ("b", 0.5, 0.3), ("c", 1.0, 0.8))]
    for r in runs:
        r["dataset"]["achieved_ratio"]["frames"]["person"] = 1.0
    series, notes = _drawn(runs, "ratio", tmp_path / "stacked.png")
    x, y, err = series["person AP50:95"]
    assert x == [1.0, 1.0, 1.0] and sorted(y) == pytest.approx([0.1, 0.3, 0.8]) and err is None
    assert notes == [("3 experiments\nat this x", 1.0)]


def test_each_varied_class_has_a_panel_with_only_the_runs_that_vary_it_at_their_kept_share(tmp_path):
    """A run that lowers only crane hooks is not on the person axis (and the reverse); the reference is on
    both; x is the kept share, the requested one marked beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from detexp.report.plots import runs_on_axis

    def run(name: str, hook: float, person: float, kept_person: float | None = None) -> dict:
        s = summary(name, person, 0.3)
        s["config"]["experiment"]["frame_sample_fractions"]["crane hook"] = hook
        kept = {"crane hook": hook, "person": person if kept_person is None else kept_person}
        requested = {"crane hook": hook, "person": person}
        s["dataset"]["per_class_sampling"] = {c: {"kept_share": kept[c], "requested_share": requested[c]} for c in CLASSES}
        return s

    runs = [
        run("full", 1.0, 1.0),
        run("hook_50", 0.5, 1.0),
        run("person_25", 1.0, 0.25, kept_person=0.4),
        run("both_50", 0.5, 0.5),
    ]
    assert [r["experiment"] for r in runs_on_axis(runs, "person")] == ["full", "person_25", "both_50"]
    assert [r["experiment"] for r in runs_on_axis(runs, "crane hook")] == ["full", "hook_50", "both_50"]
    drawn, marks = [], []
    original_errorbar, original_plot = plt.Axes.errorbar, plt.Axes.plot

    def errorbar(self, x, y, yerr=None, **kw):
        drawn.append((self, kw["label"], list(x)))
        return original_errorbar(self, x, y, yerr=yerr, **kw)

    def plot(self, *args, **kw):
        if kw.get("label", "").startswith("requested share"):
            marks.append((self, args[0]))
        return original_plot(self, *args, **kw)

    plt.Axes.errorbar, plt.Axes.plot = errorbar, plot
    try:
        plot_ap_against(runs, "fraction", tmp_path / "panels.png")
    finally:
        plt.Axes.errorbar, plt.Axes.plot = original_errorbar, original_plot
    panels = {ax.get_title(): ax for ax, _, _ in drawn}
    assert sorted(panels) == ["varying 'crane hook'", "varying 'person'"]
    xs = {(ax.get_title(), label): x for ax, label, x in drawn}
    assert xs[("varying 'person'", "person AP50:95")] == [0.4, 0.5, 1.0]  # kept shares: 0.25 asked, 0.4 kept
    assert xs[("varying 'crane hook'", "person AP50:95")] == [0.5, 0.5, 1.0]
    assert {(ax.get_title(), tuple(x)) for ax, x in marks} == {("varying 'person'", (0.25,))}
    with Image.open(tmp_path / "panels.png") as png:
        assert png.size[0] > 1.6 * png.size[1]  # two panels side by side


def test_a_one_epoch_training_curve_says_it_has_one_point(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = []
    original = plt.Axes.plot

    def plot(self, *args, **kw):
        labels.append((kw.get("label"), list(args[0])))
        return original(self, *args, **kw)

    plt.Axes.plot = plot
    try:
        plot_training_curves(
            {
                "one": [{"epoch": 0, "train/loss": 3.0, "val/mAP_50_95": 0.1}],
                "two": [{"epoch": 0, "train/loss": 3.0}, {"epoch": 1, "train/loss": 2.0}],
            },
            tmp_path / "curves.png",
        )
    finally:
        plt.Axes.plot = original
    assert ("one (1 epoch: one point)", [1]) in labels and ("two", [1, 2]) in labels  # epochs counted from 1


def write_results(root: Path) -> Path:
    """A partial run: two finished experiments, one training, one with only its config, one not started."""
    results = root / "results"
    for s in (SUMMARIES[0], SUMMARIES[1]):
        d = results / s["experiment"]
        d.mkdir(parents=True)
        (d / layout.SUMMARY).write_text(json.dumps(s))
    training = results / "exp_c"
    (training / "training/state").mkdir(parents=True)
    (training / layout.RESOLVED_CONFIG).write_text("experiment: {frame_sample_fractions: {crane hook: 1.0, person: 0.75}}\n")
    (training / layout.DATASET_STATS).write_text("{}")
    (training / layout.TRAINING_STATE_METRICS).write_text("epoch,step,train/loss\n0,4,3.1\n1,9,2.5\n")
    (results / ".cache").mkdir()  # the study's content cache: not a run
    (results / "exp_e").mkdir()
    (results / "exp_e" / layout.RESOLVED_CONFIG).write_text(
        "experiment: {frame_sample_fractions: {crane hook: 1.0, person: 0.1}}\n"
    )
    experiments = root / "config/experiments"
    experiments.mkdir(parents=True)
    for name, person in (("exp_a", 0.25), ("exp_b", 0.5), ("exp_c", 0.75), ("exp_d", 1.0), ("exp_e", 0.1)):
        (experiments / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{person: {person}}}\n")
    (root / "study.yaml").write_text(f"project_dir: p\nclasses: [crane hook, person]\nexperiments_dir: {experiments}\n")
    return results


def test_the_collector_marks_unfinished_runs_of_the_study_it_is_given(tmp_path):
    results = write_results(tmp_path)
    planned = study_runs([tmp_path / "study.yaml"], workflow_config=tmp_path / "no such file")
    table = collect(results, planned, ["crane hook", "person"])
    assert list(table["experiment"]) == ["exp_e", "exp_a", "exp_b", "exp_c", "exp_d"]
    status = dict(zip(table["experiment"], table["status"]))
    assert status == {
        "exp_e": "configured",
        "exp_a": "not started",
        "exp_b": "complete",
        "exp_c": "training (2 epoch(s) logged)",
        "exp_d": "complete",
    }
    assert table.loc[table["experiment"] == "exp_b", "test mAP50:95"].item() == 0.4
    assert table.loc[table["experiment"] == "exp_a", "fraction person"].item() == 0.25  # from the plan
    assert pd.isna(table.loc[table["experiment"] == "exp_c", "test mAP50:95"].item())
    # without the study's config: the runs in the results folder only, never experiments of another study
    assert sorted(collect(results)["run"]) == ["exp_b", "exp_c", "exp_d", "exp_e"]


def test_the_collector_leaves_fractions_nothing_records_empty(tmp_path):
    """A run folder with neither a resolved config nor a place in the plan: its fractions are unknown,
    not the 1.0 of a class an experiment file leaves out."""
    results = write_results(tmp_path)
    (results / "exp_f/training/state").mkdir(parents=True)
    planned = study_runs([tmp_path / "study.yaml"], workflow_config=tmp_path / "no such file")
    table = collect(results, planned, ["crane hook", "person"]).set_index("experiment")
    fractions = ["fraction crane hook", "fraction person"]
    assert table.loc["exp_f", fractions].isna().all() and table.index[-1] == "exp_f"
    assert list(table.loc["exp_a", fractions]) == [1.0, 0.25]  # left out of its file: 1.0


def test_the_collector_command_prints_four_formats(tmp_path):
    results = write_results(tmp_path)
    outputs = {}
    for fmt in ("table", "markdown", "csv", "json"):
        proc = subprocess.run(
            [sys.executable, str(SCRIPTS / "collect_results.py"), str(results), "--format", fmt, "--configfile", "study.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs[fmt] = proc.stdout
    rows = json.loads(outputs["json"])
    assert [r["experiment"] for r in rows] == ["exp_e", "exp_a", "exp_b", "exp_c", "exp_d"]
    assert rows[2]["test mAP50:95"] == 0.4 and rows[3]["test mAP50:95"] is None
    csv_rows = outputs["csv"].strip().splitlines()
    assert csv_rows[0].startswith("run,status,experiment,replicate,seed,") and len(csv_rows) == 6
    assert outputs["markdown"].splitlines()[1].startswith("|:") and "| exp_c " in outputs["markdown"]
    assert "training (2 epoch(s) logged)" in outputs["table"] and "exp_a" in outputs["table"]
    assert render(pd.DataFrame(), "json") == "[]\n"


def test_job_benchmarks_are_read_from_snakemake_files(tmp_path):
    tsv = tmp_path / "b.tsv"
    tsv.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "12.5\t0:00:12\t812.4\t900\t-\t-\t1\t2\t95\t11.9\n"
    )
    assert job_benchmark(tsv) == {"wall_s": 12.5, "max_rss_mb": 812.4, "cpu_time_s": 11.9}
    assert job_benchmark(tmp_path / "missing.tsv") is None


def test_statistics_over_replicates():
    """Three replicates with person AP 0.2, 0.4, 0.6: mean 0.4, sd 0.2, 95% CI 0.4 +- t(0.975, 2) * 0.2 / sqrt(3)."""
    from detexp.report.summary import replicate_statistics

    runs = []
    for i, ap in enumerate([0.2, 0.4, 0.6]):
        s = summary("exp_a", 0.5, ap)
        s["run"] = {"id": f"exp_a__rep{i}" if i else "exp_a", "swept": {"training.epochs": 10}, "replicate": i, "seed": 42 + i}
        runs.append(s)
    single = summary("exp_b", 1.0, 0.7)
    single["run"] = {"id": "exp_b", "swept": {"training.epochs": 10}, "replicate": 0, "seed": 42}
    table = comparison_table([runs[2], single, runs[0], runs[1]])
    assert list(table["run"]) == ["exp_a", "exp_a__rep1", "exp_a__rep2", "exp_b"]
    assert list(table["training.epochs"]) == [10, 10, 10, 10] and list(table["replicate"]) == [0, 1, 2, 0]
    stats = replicate_statistics(table)
    a = stats[stats["experiment"] == "exp_a"].iloc[0]
    assert a["replicates"] == 3
    assert a["test AP50:95 person mean"] == pytest.approx(0.4)
    assert a["test AP50:95 person std"] == pytest.approx(0.2)
    half = 4.302652729911275 * 0.2 / 3**0.5
    assert (a["test AP50:95 person ci95 low"], a["test AP50:95 person ci95 high"]) == pytest.approx((0.4 - half, 0.4 + half))
    b = stats[stats["experiment"] == "exp_b"].iloc[0]
    assert b["replicates"] == 1 and b["test AP50:95 person mean"] == pytest.approx(0.7) and pd.isna(b["test AP50:95 person std"])


def test_a_class_without_validation_boxes_has_no_validation_ap(tmp_path):
    from detexp.report.summary import validation_metrics

    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,val/mAP_50_95,val/mAP_50,val/AP/crane hook,val/AP/person\n"
        "0,4,0.2,0.4,0.25,-1.0\n"  # COCO's -1: the validation split holds no person box
    )
    metrics = validation_metrics(csv, 0, ["crane hook", "person"])
    assert metrics["per_class_AP_50_95"] == {"crane hook": 0.25, "person": None}
    assert metrics["mAP_50_95"] == 0.2


def test_a_remedy_off_its_baselines_compute_is_marked_in_the_compact_view():
    from detexp.report.summary import compact_view

    table = pd.DataFrame(
        {
            "run": ["full", "quarter", "quarter_rfs", "quarter_os"],
            "fraction person": [1.0, 0.25, 0.25, 0.25],
            "remedy": ["none", "none", "repeat-factor sampling", "oversampling"],
            "test AP50:95 person": [0.6, 0.4, 0.5, 0.45],
            "training images seen": [5120, 2560, 3200, 2700],
        }
    )

    def stat(run, reference, seen, reference_seen):
        return {"run": run, "reference run": reference, "class": "person", "metric": "AP_50_95", "replicates": 1}, {
            "difference": 0.1,
            "ci95 low": 0.0,
            "ci95 high": 0.2,
            "note": "",
            "images seen": seen,
            "reference images seen": reference_seen,
        }

    stats = pd.DataFrame(
        [
            a | b
            for a, b in (
                stat("quarter", "full", 2560, 5120),  # fewer data at fixed epochs: what the experiment asks about
                stat("quarter_rfs", "quarter", 3200, 2560),  # +25%
                stat("quarter_os", "quarter", 2700, 2560),  # +5%: equal compute within 10%
            )
        ]
    )
    view = compact_view(table, stats)
    assert view["images seen"].tolist() == ["5120", "2560", "3200 (+25% vs quarter)", "2700"]
    # a remedy's difference is to its baseline, not to the run marked (reference): the cell names it
    assert view["AP person"].tolist() == [
        "0.600 (reference)",
        "0.400 (+0.100 [0.000, +0.200])",
        "0.500 (+0.100 vs quarter [0.000, +0.200])",
        "0.450 (+0.100 vs quarter [0.000, +0.200])",
    ]


def test_every_remedy_gets_its_name_and_marker_and_the_plots_draw_them(tmp_path):
    from detexp.report.remedy_labels import remedy_marker, remedy_of

    def remedied(name, sampling=None, loss=None):
        s = summary(name, 0.25, 0.3)
        s["dataset"]["sampling_method"] = sampling or "fractions"
        s["config"]["experiment"]["class_loss_weights"] = loss
        return s

    runs = [
        remedied("irfs", "instance-aware repeat factor"),
        remedied("weighted", loss={"method": "effective_number", "beta": 0.999}),
        remedied("both", "oversampling + repeat factor", {"person": 2.0}),
        summary("plain", 0.25, 0.2),
    ]
    names = [remedy_of(s) for s in runs]
    assert names == [
        "instance-aware repeat-factor sampling",
        "class-weighted loss (effective number)",
        "oversampling + repeat-factor sampling + class-weighted loss (by hand)",
        "none",
    ]
    assert [remedy_marker(n) for n in names] == ["d", "*", "P", ""]
    plot_ap_against(runs + [summary("full", 1.0, 0.6)], "fraction", tmp_path / "ap.png")
    assert Image.open(tmp_path / "ap.png").size[0] > 0


def test_a_class_neither_run_detects_is_said_to_give_no_signal_in_the_compact_view():
    """AP 0 in a run and in its reference: a difference of +0.00 [+0.00, +0.00] would read as 'no
    effect'; the cell says that neither model detects the class. One AP above 0 keeps the interval."""
    from detexp.report.summary import COMPACT_LEGEND, compact_view

    table = pd.DataFrame(
        {
            "run": ["full", "quarter", "half"],
            "fraction person": [1.0, 0.25, 0.5],
            "test AP50:95 person": [0.0, 0.0, 0.02],
        }
    )
    stats = pd.DataFrame(
        [
            {"run": run, "reference run": "full", "class": "person", "metric": "AP_50_95", "replicates": 1, "note": ""}
            | {"AP": ap, "reference AP": 0.0, "difference": ap, "ci95 low": 0.0, "ci95 high": ap}
            for run, ap in (("quarter", 0.0), ("half", 0.02))
        ]
    )
    cells = compact_view(table, stats)["AP person"].tolist()
    assert cells == ["0.000 (reference)", "0.000 (both 0: no signal)", "0.020 (+0.020 [0.000, +0.020])"]
    assert "both 0: this run and its reference score AP 0 on the class" in COMPACT_LEGEND


def test_the_text_views_show_large_counts_whole_and_never_with_an_exponent():
    """A mid-study table holds empty cells, so counts become floats: 1234567 must not print as 1.23e+06."""
    table = pd.DataFrame(
        {
            "run": ["full", "quarter"],
            "status": ["complete", "training"],
            "fraction person": [1.0, 0.25],
            "test AP50:95 person": [0.61234, None],
            "training images seen": [1234567.0, None],
            "train time s": [12345.6, None],
        }
    )
    compact = render(table, "table")
    assert "1234567" in compact and "e+" not in compact
    for fmt in ("table", "markdown"):
        every = render(table, fmt, every_column=True)
        assert "1234567" in every and "12346" in every and "0.6123" in every and "e+" not in every, every
        assert "nan" not in every.lower()
