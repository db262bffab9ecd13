"""The whole demo DAG with real RF-DETR training and inference, then reruns by dry run.

One real run (about 4 minutes on 2 cores, the session fixture `demo_run`) serves every test here.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import DEMO, DEMO_RUN_OUTPUT, copy_run, job_counts, snakemake, unavailable
from conftest import DEMO_RUN as RUN

EXPERIMENTS = ["exp_person_25", "exp_person_50", "exp_person_75", "exp_person_100"]
VIDEOS = ["crane_hook+human_short", "crane_hook_1_short"]


def test_every_contract_file_exists(demo_run):
    for exp in EXPERIMENTS:
        d = demo_run / "results" / exp
        for rel in (
            [
                "config.yaml",
                "dataset_stats.json",
                "dataset/train/_annotations.coco.json",
                "dataset/valid/_annotations.coco.json",
                "dataset/test/_annotations.coco.json",
                "training/checkpoint_best_total.pth",
                "training/class_info.json",
                "training/metrics.csv",
                "training/training_summary.json",
                "evaluation/metrics.json",
                "evaluation/predictions.json",
                "evaluation/confusion_matrix.png",
                "training_curves.png",
                "experiment_summary.json",
            ]
            + [f"inference/detected_{v}.mp4" for v in VIDEOS]
            + [f"inference/{v}_detections.json" for v in VIDEOS]
        ):
            assert (d / rel).stat().st_size > 0, f"{exp}/{rel}"
        assert list((d / "training/state").glob("events.out.tfevents.*")), "TensorBoard events"
        # only what a later resume could need is removed after training: no second copy of the weights
        assert not list((d / "training/state").glob("*.ckpt"))
        assert (demo_run / "logs" / "train" / f"{exp}.log").stat().st_size > 0


def test_held_out_splits_are_identical_and_training_grows_with_the_fraction(demo_run):
    tests = {(demo_run / "results" / e / "dataset/test/_annotations.coco.json").read_bytes() for e in EXPERIMENTS}
    assert len(tests) == 1
    person = []
    for exp in EXPERIMENTS:
        stats = json.loads((demo_run / "results" / exp / "dataset_stats.json").read_text())
        person.append(stats["splits"]["train"]["classes"]["person"]["frames"])
        hook = stats["splits"]["train"]["classes"]["crane hook"]
        assert hook["frames"] == stats["splits"]["train"]["available_before_sampling"]["classes"]["crane hook"]["frames"]
    assert person == sorted(person) and person[0] < person[-1]
    kept = [set(json.loads((demo_run / "results" / e / "dataset_stats.json").read_text())["train_frames"]) for e in EXPERIMENTS]
    assert kept[0] <= kept[1] <= kept[2] <= kept[3]  # nested draws


def test_checkpoint_loads_and_predicts(demo_run):
    import cv2
    import rfdetr

    model = rfdetr.from_checkpoint(str(demo_run / "results/exp_person_100/training/checkpoint_best_total.pth"), device="cpu")
    assert list(model.class_names) == ["crane hook", "person"]
    # the demo's architecture settings (training.num_queries, group_detr) were the model's, and travel with it
    config = model.model_config
    assert (config.num_queries, config.num_select, config.group_detr) == (30, 30, 1)
    # the checkpoint is the one the evaluate job scored: its best confidence on a test image is the same
    run = demo_run / "results/exp_person_100"
    test_image = json.loads((run / "dataset/test/_annotations.coco.json").read_text())["images"][0]
    scored = [
        p["score"] for p in json.loads((run / "evaluation/predictions.json").read_text()) if p["image_id"] == test_image["id"]
    ]
    image = cv2.imread(str(run / "dataset/test" / test_image["file_name"]))[:, :, ::-1].copy()
    detections = model.predict(image, threshold=0.0)
    classes = detections.class_id < 2  # rfdetr's background slot (class 2) is no detection
    assert float(detections.confidence[classes].max()) == pytest.approx(max(scored), abs=1e-4)
    info = json.loads((demo_run / "results/exp_person_100/training/class_info.json").read_text())
    assert info["class_names"] == ["crane hook", "person"]
    assert info["label_to_category_id"] == {"0": 1, "1": 2}


def test_training_ran_the_configured_epochs(demo_run):
    for exp in EXPERIMENTS:
        summary = json.loads((demo_run / "results" / exp / "training/training_summary.json").read_text())
        assert summary["epochs_run"] == 1 and summary["epochs_requested"] == 1
        assert summary["device"] == "cpu"
        metrics = pd.read_csv(demo_run / "results" / exp / "training/metrics.csv")
        assert "val/mAP_50_95" in metrics.columns and metrics["epoch"].max() == 0


def test_annotated_videos_match_their_sources_and_are_h264(demo_run):
    import av

    from detexp.data.video import probe

    for exp in EXPERIMENTS:
        for video in VIDEOS:
            source = probe(demo_run / "resources/demo_project/videos" / f"{video}.mp4")
            out = demo_run / "results" / exp / "inference" / f"detected_{video}.mp4"
            with av.open(str(out)) as container:
                stream = container.streams.video[0]
                assert stream.codec_context.name == "h264"
                frames = sum(1 for _ in container.decode(stream))
            assert frames == source.frame_count == 30
            result = probe(out)
            assert (result.width, result.height, result.fps) == (source.width, source.height, source.fps)


def test_detections_lie_inside_their_frames(demo_run):
    for exp in EXPERIMENTS:
        for video in VIDEOS:
            data = json.loads((demo_run / "results" / exp / "inference" / f"{video}_detections.json").read_text())
            w, h = data["video"]["width"], data["video"]["height"]
            assert data["video"]["frame_count"] == len(data["frames"]) == 30
            assert [f["index"] for f in data["frames"]] == list(range(30))
            boxes = np.array([d["xyxy"] for f in data["frames"] for d in f["detections"]])
            assert len(boxes) > 0
            assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
            assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
            assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()
            names = {d["class_name"] for f in data["frames"] for d in f["detections"]}
            assert names <= {"crane hook", "person"}
            total = sum(len(f["detections"]) for f in data["frames"])
            assert sum(data["totals"].values()) == total


def test_summaries_and_comparison_list_all_experiments(demo_run):
    for exp in EXPERIMENTS:
        summary = json.loads((demo_run / "results" / exp / "experiment_summary.json").read_text())
        assert summary["experiment"] == exp
        assert set(summary["videos"]) == set(VIDEOS)
        assert summary["config"]["experiment"]["name"] == exp
    table = pd.read_csv(demo_run / "results/comparison.csv")
    assert list(table["experiment"]) == EXPERIMENTS  # ordered by the person fraction
    assert list(table["fraction person"]) == [0.25, 0.5, 0.75, 1.0]
    md = (demo_run / "results/comparison.md").read_text()
    assert all(exp in md for exp in EXPERIMENTS)


def test_the_default_views_answer_the_question_in_160_columns(demo_run):
    """comparison.md and collect_results.py's default table: run, the person shares asked and kept, AP
    per class with its difference to the reference and interval (or that neither run detects the
    class), images seen; every column with --all."""
    stats = pd.read_csv(demo_run / "results/comparison_stats.csv")
    row = stats[(stats["run"] == "exp_person_25") & (stats["class"] == "person") & (stats["metric"] == "AP_50_95")].iloc[0]
    table = pd.read_csv(demo_run / "results/comparison.csv").set_index("run")
    ap = table.loc["exp_person_25", "test AP50:95 person"]
    from detexp.report.verdicts import ap_text, interval, percent

    expected = f"{ap_text(ap)} ({interval(row['difference'], row['ci95 low'], row['ci95 high'])})"
    if row["AP"] == row["reference AP"] == 0:  # a 1-epoch model may detect nothing: no difference to read
        expected = f"{ap_text(ap)} (both 0: no signal)"
    kept = table.loc["exp_person_25", "kept share person"]
    views = {
        "comparison.md": (demo_run / "results/comparison.md").read_text(),
        "collect_results": _cli("collect_results.py", cwd=demo_run).stdout,
    }
    for name, view in views.items():
        assert max(len(line) for line in view.splitlines()) <= 160, name
        line = next(line for line in view.splitlines() if "exp_person_25" in line)
        assert expected in line and f"25% / {percent(kept)}" in line, (name, line)
        assert "exp_person_100" in view and "(reference)" in view and "AP crane hook" in view and "images seen" in view
        assert "the interval covers\n  which test images were drawn, not training noise" in view, name
    every = _cli("collect_results.py", "--all", cwd=demo_run).stdout
    assert "val mAP50:95" in every and "train frames person" in every


def test_nothing_is_stale_after_a_complete_run_even_after_touching_code(demo_run):
    for script in (demo_run / "workflow").rglob("*.py"):
        script.touch()
    out = snakemake(demo_run, "-n", *RUN).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]


def test_a_real_change_in_a_core_module_reruns_the_rules_that_import_it(demo_run):
    """The digest reaches Snakemake's rerun decision: bootstrap.py is imported by compare_pairs alone
    (aggregate and findings read its table)."""
    path = demo_run / "workflow/scripts/detexp/report/bootstrap.py"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n_DIGEST_PROBE = 1\n")
        out = snakemake(demo_run, "-n", *RUN).stdout
    finally:
        path.write_bytes(original)
    # comparison.md shows its intervals, findings.md states them
    # and the record of the code the rerun runs
    assert job_counts(out) == {"compare_pairs": 1, "aggregate": 1, "findings": 1, "record_code_versions": 1}, out[-3000:]
    assert "reason: Params have changed since last execution" in out


def test_a_changed_fraction_reruns_only_that_experiment(demo_run):
    path = demo_run / "config/experiments/exp_person_50.yaml"
    original = path.read_text()
    try:
        path.write_text(original.replace("person: 0.5", "person: 0.4"))
        out = snakemake(demo_run, "-n", *RUN).stdout
        assert job_counts(out) == {
            "resolve_config": 1,
            "prepare_dataset": 1,
            "train": 1,
            "evaluate": 1,
            "infer": 2,
            "summarize": 1,
            "aggregate": 1,
            "plot_comparison": 1,
            "plot_video_strip": 2,
            "compare_pairs": 1,
            "findings": 1,
        }, out[-3000:]
        assert "exp_person_50" in out and "experiment=exp_person_25" not in out
        # every run has a finished training: none waits for a training plan (a changed run's own train job
        # links any identical finished training it finds)
    finally:
        path.write_text(original)


def test_a_changed_training_setting_never_reruns_dataset_preparation(demo_run):
    out = snakemake(demo_run, "-n", *DEMO, "--config", "inference={threshold: 0.0}", "training={epochs: 2}").stdout
    counts = job_counts(out)
    assert counts.get("train") == 4 and "prepare_dataset" not in counts and "split_dataset" not in counts


def test_evaluation_and_inference_settings_rerun_their_own_jobs_only(demo_run, tmp_path):
    """evaluation.iou_threshold reruns evaluate (and what reads it), inference.precision reruns infer:
    never training. The new IoU really reaches the job (run in a copy: the other tests keep theirs)."""
    iou = (*RUN, "evaluation={iou_threshold: 0.3}")
    counts = job_counts(snakemake(demo_run, "-n", *iou).stdout)
    assert counts.get("evaluate") == 4 and not {"train", "infer", "prepare_dataset"} & set(counts), counts
    counts = job_counts(snakemake(demo_run, "-n", *RUN, "inference={threshold: 0.0, precision: float32}").stdout)
    assert counts.get("infer") == 8 and not {"train", "evaluate", "prepare_dataset"} & set(counts), counts
    run = tmp_path / "iou"
    copy_run(demo_run, run)
    before = json.loads((run / "results/exp_person_25/evaluation/metrics.json").read_text())
    snakemake(run, *iou, "--cores", "2", "results/exp_person_25/evaluation/metrics.json")
    after = json.loads((run / "results/exp_person_25/evaluation/metrics.json").read_text())
    assert (before["iou_threshold"], after["iou_threshold"]) == (0.5, 0.3)
    assert after["mAP_50_95"] == pytest.approx(before["mAP_50_95"])  # COCO AP does not depend on it


def test_logit_adjustment_added_to_a_finished_study_trains_evaluates_and_infers_nothing(demo_run, tmp_path):
    """evaluation.logit_adjustment rescores the saved test predictions in a local job per run: no
    training, evaluation or inference; the comparison and the findings report both scorings. Applied
    in inference too, it reruns only the inference."""
    adjusted = (*RUN, "evaluation={logit_adjustment: {tau: 1.0}}")
    counts = job_counts(snakemake(demo_run, "-n", *adjusted).stdout)
    assert counts.get("adjust_logits") == 4 and counts.get("summarize") == 4, counts
    assert not {"train", "evaluate", "infer", "prepare_dataset", "training_plan"} & set(counts), counts
    run = copy_run(demo_run, tmp_path / "adjusted")
    snakemake(run, *adjusted, "--cores", "2", "--", "results/findings.md")  # "--": --config would take it
    plain = json.loads((run / "results/exp_person_25/evaluation/metrics.json").read_text())
    rescored = json.loads((run / "results/exp_person_25/evaluation/logit_adjusted/metrics.json").read_text())
    assert rescored["logit_adjustment"]["tau"] == 1.0 and sum(rescored["logit_adjustment"]["priors"].values()) == pytest.approx(1)
    for c, per_class in plain["per_class"].items():  # per-class AP cannot move (see logit_adjustment)
        assert rescored["per_class"][c]["AP_50_95"] == pytest.approx(per_class["AP_50_95"])
    table = pd.read_csv(run / "results/comparison.csv").set_index("run")
    assert table.loc["exp_person_25", "adjusted F1 person"] == pytest.approx(rescored["per_class"]["person"]["f1"])
    assert table.loc["exp_person_25", "test F1 person"] == pytest.approx(plain["per_class"]["person"]["f1"])
    findings = (run / "results/findings.md").read_text()
    assert "## Post-hoc logit adjustment (tau 1)" in findings and "- exp_person_25: F1 " in findings
    assert not job_counts(snakemake(run, "-n", *adjusted, "--", "results/findings.md").stdout)  # then nothing is stale
    # applied in inference too: only the test videos' inference reruns, and its detection JSON says so
    in_inference = (*RUN, "evaluation={logit_adjustment: {tau: 1.0, apply_in_inference: true}}")
    counts = job_counts(snakemake(run, "-n", *in_inference, "--", "results/findings.md").stdout)
    assert counts.get("infer") == len(EXPERIMENTS) * len(VIDEOS), counts
    assert not {"train", "evaluate", "adjust_logits", "prepare_dataset"} & set(counts), counts
    detections = "results/exp_person_25/inference/crane_hook_1_short_detections.json"
    snakemake(run, *in_inference, "--cores", "2", "--", detections)
    applied = json.loads((run / detections).read_text())["logit_adjustment"]
    assert applied == {"tau": 1.0, "priors": rescored["logit_adjustment"]["priors"]}


def test_training_can_start_from_the_checkpoint_of_an_earlier_run(demo_run, tmp_path):
    """pretrain_weights: <path> - a fine-tuning run that starts from exp_person_100's model, in a copy
    of the finished run so that the other tests keep theirs."""
    run = tmp_path / "finetune"
    copy_run(demo_run, run)
    earlier = run / "earlier" / "best.pth"
    earlier.parent.mkdir()
    shutil.copy2(run / "results/exp_person_100/training/checkpoint_best_total.pth", earlier)
    args = (*RUN, "training={pretrain_weights: earlier/best.pth}", "experiments=[exp_person_25]")
    counts = job_counts(snakemake(run, "-n", *args).stdout)
    assert counts.get("train") == 1 and counts.get("evaluate") == 1 and "prepare_dataset" not in counts, counts
    snakemake(run, *args, "--cores", "2")
    log = (run / "logs/train/exp_person_25.log").read_text()
    assert "starting from earlier/best.pth" in log
    summary = json.loads((run / "results/exp_person_25/training/training_summary.json").read_text())
    assert summary["epochs_run"] == 1
    assert (run / "results/exp_person_25/inference/crane_hook_1_short_detections.json").stat().st_size > 0


def test_fetching_the_published_weights_again_never_reruns_a_training(demo_run, tmp_path):
    """pretrain_weights: auto trains from the checkpoint fetch_weights placed in weights_dir; a later
    fetch (the same content in a newer file) leaves every training as it is. No published weights can
    be downloaded here, so the finished `auto` study is made by --touch on a copy of the demo run."""
    from detexp.study.weights import cache_path

    run = tmp_path / "auto"
    copy_run(demo_run, run)
    weights = run / cache_path("resources/weights", "nano")
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"the published checkpoint")
    auto = (*RUN, "training={pretrain_weights: auto}")
    counts = job_counts(snakemake(run, "-n", *auto).stdout)
    assert counts.get("train") == 4 and "fetch_weights" not in counts, counts  # another start: trainings rerun
    snakemake(run, *auto, "--touch", "--cores", "1")
    out = snakemake(run, "-n", *auto).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]
    weights.unlink()
    weights.write_bytes(b"the published checkpoint")  # fetched again: a new file, newer than every training
    out = snakemake(run, "-n", *auto).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]


def test_held_out_evaluation_scores_the_test_split(demo_run):
    from PIL import Image

    test = json.loads((demo_run / "results/exp_person_100/dataset/test/_annotations.coco.json").read_text())
    test_ids = {img["id"] for img in test["images"]}
    names = {c["id"]: c["name"] for c in test["categories"]}
    for exp in EXPERIMENTS:
        d = demo_run / "results" / exp / "evaluation"
        metrics = json.loads((d / "metrics.json").read_text())
        assert metrics["images"] == len(test["images"]) > 0
        assert 0.0 <= metrics["mAP_50_95"] <= metrics["mAP_50"] <= 1.0
        assert set(metrics["per_class"]) == {"crane hook", "person"}
        for name, m in metrics["per_class"].items():
            assert names[m["category_id"]] == name
            assert m["ground_truth"] == sum(1 for a in test["annotations"] if names[a["category_id"]] == name)
        matrix = np.array(metrics["confusion_matrix"]["matrix"])
        assert matrix.shape == (3, 3)
        # every ground-truth box is either matched to some class or missed (last column)
        assert matrix[:2].sum() == sum(m["ground_truth"] for m in metrics["per_class"].values())
        predictions = json.loads((d / "predictions.json").read_text())
        assert predictions and {p["image_id"] for p in predictions} <= test_ids
        assert {p["category_id"] for p in predictions} <= set(names)
        assert all(len(p["bbox"]) == 4 and 0 <= p["score"] <= 1 for p in predictions)
        with Image.open(d / "confusion_matrix.png") as png:
            assert png.format == "PNG" and png.size[0] > 200 and png.size[1] > 200
        summary = json.loads((demo_run / "results" / exp / "experiment_summary.json").read_text())
        assert summary["test"]["mAP_50_95"] == metrics["mAP_50_95"]
    table = pd.read_csv(demo_run / "results/comparison.csv")
    assert {"test mAP50:95", "test AP50:95 person", "test AP50 crane hook", "test F1"} <= set(table.columns)


def test_summaries_follow_their_schema_and_carry_job_costs(demo_run):
    import jsonschema

    from detexp.schemas import load_schema

    schema = load_schema("experiment_summary.schema.yaml")
    for exp in EXPERIMENTS:
        summary = json.loads((demo_run / "results" / exp / "experiment_summary.json").read_text())
        jsonschema.validate(summary, schema)
        assert summary["jobs"]["train"]["wall_s"] > 1 and summary["jobs"]["train"]["max_rss_mb"] > 100
        assert set(summary["jobs"]) == {"prepare_dataset", "train", "evaluate", *(f"infer {v}" for v in VIDEOS)}
        assert summary["videos"]["crane_hook_1_short"]["processed_frames"] == 30


def test_plots_and_html_comparison(demo_run):
    from PIL import Image

    plots = demo_run / "results/plots"
    expected = {"ap_vs_fraction.png", "ap_vs_ratio.png", "training_curves.png", *(f"strip_{v}.png" for v in VIDEOS)}
    assert {p.name for p in plots.iterdir()} == expected
    for name in expected:
        with Image.open(plots / name) as png:
            assert png.format == "PNG" and png.size[0] >= 600 and png.size[1] >= 300, name
    with Image.open(plots / f"strip_{VIDEOS[0]}.png") as strip:
        assert strip.size[1] > 4 * 150  # one row per experiment
    html = (demo_run / "results/comparison.html").read_text()
    assert html.count("<tr") == 1 + len(EXPERIMENTS) and all(exp in html for exp in EXPERIMENTS)


def test_tensorboard_shows_every_experiment_as_its_own_run(demo_run):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    runs = EventMultiplexer().AddRunsFromDirectory(str(demo_run / "results")).Reload().Runs()
    names = {run.split("/")[0]: run for run in runs}
    assert set(names) == set(EXPERIMENTS)
    for exp, run in names.items():
        assert run == f"{exp}/training/state"
        assert runs[run]["scalars"], exp


def test_the_snakemake_report_holds_the_comparison_and_every_plot(demo_run, tmp_path):
    report = tmp_path / "report.html"
    snakemake(demo_run, *RUN, "--report", str(report))
    html = report.read_text()
    assert len(html) > 100_000
    for text in ("Comparison", "Experiments", "Test videos", "ap_vs_fraction.png", "comparison.html", "confusion_matrix.png"):
        assert text in html, text
    assert all(exp in html for exp in EXPERIMENTS)
    assert "best F1 (a match at IoU &gt;= 0.5)" in html  # captions state the config's match IoU
    # the findings page the report embeds opens with the jobs' warnings
    pages = [
        base64.b64decode(data).decode() if header.endswith(";base64") else unquote(data)
        for header, data in re.findall(r"data:text/html([^,\"']*),([^\"']+)", html)
    ]
    findings = next(page for page in pages if "<h1>Findings</h1>" in page)
    assert findings.index("<h2>Warnings</h2>") < findings.index("<h2>person</h2>")
    assert "kept shares above the requested ones" in findings


def _region_matches_image(screenshot: Path, box: dict, original: Path) -> float:
    """Correlation of grey levels between a screenshot region and an image scaled to it (1: the same picture)."""
    from PIL import Image

    with Image.open(screenshot) as shot, Image.open(original) as image:
        region = shot.convert("L").crop(
            (round(box["x"]), round(box["y"]), round(box["x"] + box["w"]), round(box["y"] + box["h"]))
        )
        # compared at a quarter of the size: the browser may place the image at half-pixel offsets
        small = (region.size[0] // 4, region.size[1] // 4)
        a = np.asarray(region.resize(small, Image.BOX), float)
        b = np.asarray(image.convert("L").resize(region.size).resize(small, Image.BOX), float)
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_the_report_shows_the_table_and_the_headline_plot_in_a_real_browser(demo_run, tmp_path):
    """The report in headless Chromium: no errors, and a reader who opens Comparison sees the table
    and the headline figure (checked on screenshots, which are kept next to the report)."""
    from browser import Browser, BrowserUnavailable

    report = tmp_path / "report.html"
    snakemake(demo_run, *RUN, "--report", str(report))
    try:
        browser = Browser()
    except BrowserUnavailable as why:
        unavailable(f"no headless browser: {why}")
    show = """(label) => {
        const row = [...document.querySelectorAll('tr')].find(r => r.innerText.includes(label));
        row.querySelector('a[iconname=eye]').click();
        return true;
    }"""
    rect = "(e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })"
    with browser:
        browser.load(report.as_uri())
        assert "Class-imbalance study with RF-DETR" in browser.js("document.body.innerText")
        browser.click_text("Comparison")
        browser.wait_for("document.body.innerText.includes('AP against the sampled fraction')")
        # the table: the comparison page in the report's viewer, with every experiment in it
        browser.js(f"({show})('comparison table')")
        src = browser.wait_for("(document.querySelector('iframe') || {}).src")
        header, data = src.split(",", 1)
        page = base64.b64decode(data).decode() if header.endswith(";base64") else unquote(data)
        assert all(exp in page for exp in EXPERIMENTS)
        table_box = browser.js(f"{rect}(document.querySelector('iframe'))")
        assert table_box["w"] > 600 and table_box["h"] > 300
        shot = browser.screenshot(tmp_path / "report_table.png")
        from PIL import Image

        with Image.open(shot) as image:
            region = np.asarray(
                image.convert("L").crop(
                    (int(table_box["x"]), int(table_box["y"]), int(table_box["x"] + table_box["w"]), int(table_box["y"] + 200))
                )
            )
        assert (region < 100).mean() > 0.01, "no dark table text in the screenshot"
        # the headline figure, shown as an image whose pixels are the plot's
        browser.js(f"({show})('AP against the sampled fraction')")
        browser.wait_for("[...document.querySelectorAll('img')].some(i => i.naturalWidth > 300)")
        img = "[...document.querySelectorAll('img')].find(i => i.naturalWidth > 300)"
        box = browser.js(f"{rect}({img})")
        assert box["w"] > 300 and box["y"] + box["h"] <= 1000
        shot = browser.screenshot(tmp_path / "report_plot.png")
        assert _region_matches_image(shot, box, demo_run / "results/plots/ap_vs_fraction.png") > 0.9
        assert _region_matches_image(shot, box, demo_run / "results/plots/training_curves.png") < 0.6  # it tells plots apart
        assert browser.errors == []


def test_paired_comparison_against_the_full_fraction_experiment(demo_run):
    stats = pd.read_csv(demo_run / "results/comparison_stats.csv")
    assert "exp_person_25" in (demo_run / "results/comparison_stats.html").read_text()
    assert len(stats) == 3 * 2 * 2  # 3 experiments against exp_person_100, 2 classes, 2 metrics
    assert set(stats["reference run"]) == {"exp_person_100"}
    assert set(stats["run"]) == {"exp_person_25", "exp_person_50", "exp_person_75"}
    assert (stats["bootstrap samples"] <= 200).all()
    # the whole-split APs are those the evaluate jobs measured (two jobs, two evaluation paths, one answer)
    for row in stats.to_dict("records"):
        for run, value in ((row["run"], row["AP"]), (row["reference run"], row["reference AP"])):
            metrics = json.loads((demo_run / "results" / run / "evaluation/metrics.json").read_text())
            assert value == pytest.approx(metrics["per_class"][row["class"]][row["metric"]], abs=1e-9), (run, row)
    replicates = pd.read_csv(demo_run / "results/comparison_replicates.csv")
    assert list(replicates["replicates"]) == [1, 1, 1, 1]


def _cli(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    from conftest import SCRIPTS

    proc = subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_the_command_line_tools_reproduce_what_the_rules_wrote(demo_run, tmp_path):
    """What users call by hand, on the demo's own outputs: each gives what its rule gave."""
    run = demo_run / "results/exp_person_25"
    config = yaml.safe_load((run / "config.yaml").read_text())
    # prepare_dataset: the same training file from the same project, splits, fraction and seed
    # (options before the positionals: none of them swallows what follows)
    class_options = [arg for name in config["classes"] for arg in ("--class", name)]
    # split_dataset: the study's split, with its statistics
    splits = ("--valid-fraction", "0.2", "--test-fraction", "0.2", "resources/demo_project")
    _cli("split_dataset.py", *class_options, *splits, str(tmp_path / "splits.json"), str(tmp_path / "splits.html"), cwd=demo_run)
    assert json.loads((tmp_path / "splits.json").read_text()) == json.loads((demo_run / "results/splits.json").read_text())
    _cli(
        "prepare_dataset.py",
        *class_options,
        "--fraction",
        "person",
        "0.25",
        "--seed",
        str(config["seed"]),
        "resources/demo_project",
        "results/splits.json",
        str(tmp_path / "dataset"),
        str(tmp_path / "stats.json"),
        cwd=demo_run,
    )
    for split in ("train", "valid", "test"):
        assert (tmp_path / "dataset" / split / "_annotations.coco.json").read_bytes() == (
            run / "dataset" / split / "_annotations.coco.json"
        ).read_bytes()
    # evaluate: the same APs from the same checkpoint and test split
    _cli(
        "evaluate.py",
        str(run / "training/checkpoint_best_total.pth"),
        str(run / "dataset/test/_annotations.coco.json"),
        str(tmp_path / "evaluation/metrics.json"),
        str(tmp_path / "evaluation/predictions.json"),
        str(tmp_path / "evaluation/confusion_matrix.png"),
        cwd=demo_run,
    )
    mine = json.loads((tmp_path / "evaluation/metrics.json").read_text())
    theirs = json.loads((run / "evaluation/metrics.json").read_text())
    assert mine["per_class"]["person"]["AP_50_95"] == pytest.approx(theirs["per_class"]["person"]["AP_50_95"], abs=1e-9)
    assert mine["mAP_50"] == pytest.approx(theirs["mAP_50"], abs=1e-9)
    # infer: the same detections on the first frames, at the rule's threshold
    video = VIDEOS[0]
    _cli(
        "infer.py",
        str(run / "training/checkpoint_best_total.pth"),
        f"resources/demo_project/videos/{video}.mp4",
        str(tmp_path / "out.mp4"),
        str(tmp_path / "out.json"),
        "--threshold",
        "0.0",
        "--max-frames",
        "4",
        cwd=demo_run,
    )
    mine = json.loads((tmp_path / "out.json").read_text())["frames"]
    theirs = json.loads((run / f"inference/{video}_detections.json").read_text())["frames"][:4]
    assert [f["index"] for f in mine] == [0, 1, 2, 3]
    for a, b in zip(mine, theirs):
        best = sorted(d["confidence"] for d in a["detections"])[-5:]
        assert best == pytest.approx(sorted(d["confidence"] for d in b["detections"])[-5:], abs=1e-5)
    # collect_results: the finished study, as a table
    out = _cli("collect_results.py", "results", "--format", "csv", cwd=demo_run).stdout
    table = pd.read_csv(io.StringIO(out))
    assert set(table["status"]) == {"complete"} and len(table) == 4


def test_the_split_and_the_kept_shares_are_reported(demo_run):
    """The demo's clips (clipNN_TTTT.jpg) are found, and person frames that enter through crane hook
    frames are counted, warned about and marked in the comparison."""
    statistics = json.loads((demo_run / "results/splits.json").read_text())["statistics"]
    size = yaml.safe_load((demo_run / "tests/demo_quick.yaml").read_text())["demo_project"]
    clips = statistics["clips"]
    assert sum(clips.values()) == size["clips"] and clips["valid"] == clips["test"] == round(0.2 * size["clips"])
    assert statistics["single_frame_clips"] == 0
    assert sum(statistics["frames"].values()) == size["clips"] * size["frames_per_clip"]
    assert "<td>valid</td>" in (demo_run / "results/splits.html").read_text()
    stats = json.loads((demo_run / "results/exp_person_25/dataset_stats.json").read_text())
    person = stats["per_class_sampling"]["person"]
    train_frames = {name for name in stats["train_frames"]}
    assert person["frames_kept"] == stats["splits"]["train"]["classes"]["person"]["frames"]
    assert person["frames_drawn"] == int(0.25 * person["frames_available"] + 0.5) < person["frames_kept"]
    assert person["kept_share"] == round(person["frames_kept"] / person["frames_available"], 4)
    assert person["entered_through"] == {"crane hook": person["frames_kept"] - person["frames_drawn"]}
    assert len(train_frames) == stats["splits"]["train"]["frames"]
    log = (demo_run / "logs/prepare_dataset/exp_person_25.log").read_text()
    warning = next(line for line in log.splitlines() if line.startswith("warning: "))
    assert warning.startswith(f"warning: class 'person' keeps {100 * person['kept_share']:.0f}% of its training frames")
    # ... and where a user looks: the Warnings section opening findings.md, printed as the run ends
    findings = (demo_run / "results/findings.md").read_text()
    entry = f"- `logs/prepare_dataset/exp_person_25.log`: {warning.removeprefix('warning: ')}"
    assert findings.index("## Warnings") < findings.index("## person") and entry in findings.splitlines()
    assert findings.count("**kept shares above the requested ones**") == 1  # grouped: one heading per kind
    assert findings.strip() in (demo_run.parent / DEMO_RUN_OUTPUT).read_text()
    table = pd.read_csv(demo_run / "results/comparison.csv").set_index("run")
    assert table.loc["exp_person_25", "kept share person"] == person["kept_share"]
    assert table.loc["exp_person_25", "notes"].startswith("person: kept ")
    assert pd.isna(table.loc["exp_person_100", "notes"])  # nothing to say about the full run


def test_job_logs_hold_no_library_notices_that_say_nothing_about_the_run(demo_run):
    logs = [p.read_text() for p in (demo_run / "logs").rglob("*.log")]
    assert len(logs) > 20 and any("trained 1 epoch(s)" in log for log in logs)
    for log in logs:
        assert "`torch.jit.script` is deprecated" not in log and "was deprecated since v1.7.0" not in log
        assert "\x1b[" not in log  # rfdetr's metric tables without terminal colour codes
        # a library's warning once per job, not once per place it is raised
        assert log.count("PretrainWeightsCompatibilityWarning") <= 1
