"""The remedies study on the demo: each remedy paired with its unremedied baseline, the share of the
lost AP each wins back with its interval, and findings that say what each interval rests on. (The
replicate-level rows are tested on hand-made predictions in tests/unit/report/test_bootstrap.py and
test_findings.py: a replicated study here would double the suite's longest e2e test.)"""

from __future__ import annotations

import json
import math

import pytest

from detexp.train.distributed import images_per_epoch
from detexp.report.verdicts import NOISE_UNMEASURED, interval

EXPERIMENTS = ["person_100", "person_25", "person_25_irfs", "person_25_class_weighted"]
REMEDIES = ["person_25_irfs", "person_25_class_weighted"]


def test_the_remedies_study_pairs_each_remedy_with_its_baseline(workflow_copy):
    """The documented command on the demo (its sampling and loss remedies; the oversampled and LVIS
    repeat-factor runs left out to keep the suite short): the comparison tells
    the remedies apart, the paired bootstrap compares each with its baseline, and the findings rank
    them by the share of the lost AP each wins back, with its interval."""
    import pandas as pd

    from conftest import DEMO, snakemake

    # The demo's person frames are 6 of 14 after the 25% draw (most come with a hook): a linear factor
    # at threshold 1 repeats them 1 / f_person times, so the remedy visibly acts.
    path = workflow_copy / "config/remedies/person_25_irfs.yaml"
    path.write_text(path.read_text().replace("threshold: 0.5", "threshold: 1.0").replace("mode: sqrt", "mode: linear"))
    snakemake(
        workflow_copy,
        "--cores",
        "2",
        *DEMO,
        "config/remedies.yaml",
        "--config",
        f"experiments=[{', '.join(EXPERIMENTS)}]",
        "test_videos=[]",
        "--",
        "results/comparison_stats.csv",
        "results/comparison.csv",
        "results/findings.md",
    )
    stats = pd.read_csv(workflow_copy / "results/comparison_stats.csv")
    pairs = {("person_100", "person_25")} | {("person_25", r) for r in REMEDIES}
    assert set(zip(stats["reference run"], stats["run"])) == pairs, stats
    findings = (workflow_copy / "results/findings.md").read_text()
    claims = stats[stats["metric"] == "AP_50_95"]
    assert len(claims) == 2 * len(pairs) and set(claims["interval covers"]) == {"test images"}
    # the findings state what the replicate rows say, and what they rest on
    for row in claims[claims["run"].isin(REMEDIES)].to_dict("records"):
        numbers = interval(row["difference"], row["ci95 low"], row["ci95 high"])
        rests_on = f"95% interval over {row['test images']} test images, one training per run"
        line = next(line for line in findings.splitlines() if line.startswith(f"- {row['class']} AP50:95, {row['run']} "))
        assert "vs its baseline person_25" in line and f"{numbers}, {rests_on}" in line, line
        assert f" - {NOISE_UNMEASURED}" in line and " - not different" not in line, line  # one training per run
        # IRFS repeats the person frames: more compute than its baseline where its epochs show more
        # images (rfdetr draws at least 5 batches an epoch), and the findings say so; the class-weighted
        # loss trains on the baseline's own images
        gap = "; not at equal compute: it saw " in line and "more training images than its baseline" in line
        assert gap == (row["images seen"] > 1.1 * row["reference images seen"]), line
        if row["run"] == "person_25_class_weighted":
            assert row["images seen"] == row["reference images seen"] and not gap
    # the won-back share: (remedy - baseline) / (reference - baseline), on the remedies' rows, defined
    # where the baseline lost AP, with its interval over test images; the findings rank by it
    lost = claims[claims["run"] == "person_25"].set_index("class")
    ranking = findings.split("## Remedies for person, by the share of the lost AP50:95 each wins back\n\n", 1)[1]
    for row in claims[claims["run"].isin(REMEDIES)].to_dict("records"):
        loss = lost.loc[row["class"], "reference AP"] - lost.loc[row["class"], "AP"]
        if loss > 0:
            assert row["won back"] == pytest.approx((row["AP"] - row["reference AP"]) / loss), row
            assert row["won back of"] == "person_100"
        else:
            assert math.isnan(row["won back"]), row
        if row["class"] == "person":
            (line,) = [line for line in ranking.splitlines() if line[:3].endswith(". ") and f" {row['run']} (" in line]
            assert (f"that person_25 lost against person_100: {row['won back']:.0%}" in line) == (loss > 0), line
    assert stats[~stats["run"].isin(REMEDIES)]["won back"].isna().all()  # the baseline's own rows have none

    table = pd.read_csv(workflow_copy / "results/comparison.csv").set_index("run")
    assert table.loc["person_25", "sampling"] == "fractions"
    assert table.loc["person_25_irfs", "sampling"] == "instance-aware repeat factor"
    # IRFS: the rare class's frames are repeated 1 / sqrt(f_img x f_inst) times (threshold 1, linear)
    assert table.loc["person_25_irfs", "train images person"] > table.loc["person_25", "train images person"]
    assert table.loc["person_25_irfs", "train frames person"] == table.loc["person_25", "train frames person"]
    for run in EXPERIMENTS:  # one epoch of the training set, copies counted, as rfdetr shows it (batch 4)
        summary = json.loads((workflow_copy / f"results/{run}/training/training_summary.json").read_text())
        assert table.loc[run, "training images seen"] == images_per_epoch(summary["train_images"], 4)
    stats_irfs = json.loads((workflow_copy / "results/person_25_irfs/dataset_stats.json").read_text())
    train = stats_irfs["splits"]["train"]
    image_share = train["classes"]["person"]["frames"] / train["frames"]
    instance_share = train["classes"]["person"]["instances"] / sum(c["instances"] for c in train["classes"].values())
    assert image_share != pytest.approx(instance_share, abs=0.01)  # the two frequencies differ here
    assert stats_irfs["class_repeat_factors"]["person"] == pytest.approx(1.0 / math.sqrt(image_share * instance_share))
    # the class-balanced loss: the rarer person weighs more, the weights sum to the number of classes,
    # and the training saw its baseline's images
    weights = table.loc["person_25_class_weighted", ["loss weight person", "loss weight crane hook"]]
    assert weights["loss weight person"] > weights["loss weight crane hook"] and weights.sum() == pytest.approx(2.0)
    assert table.loc["person_25_class_weighted", "training images seen"] == table.loc["person_25", "training images seen"]
    assert table.loc["person_25", "loss weight person"] == table.loc["person_25", "loss weight crane hook"] == 1.0
    # post-hoc logit adjustment of every run (config/remedies.yaml), beside its own scores
    assert (table["logit adjustment tau"] == 1.0).all() and table["adjusted F1"].notna().all()
    assert "## Post-hoc logit adjustment (tau 1)" in findings
