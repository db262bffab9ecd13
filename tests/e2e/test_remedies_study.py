"""The remedies study on the demo: each remedy paired with its unremedied baseline, with replicates,
and findings that rest on the replicate rows."""

from __future__ import annotations
import json
import pytest


def test_the_remedies_study_pairs_each_remedy_with_its_baseline(workflow_copy):
    """The documented command on the demo (two of its experiments, to keep the suite short): the
    comparison tells the remedy apart and the paired bootstrap compares it with its baseline."""
    import pandas as pd

    from conftest import snakemake

    # The demo's person frames are 6 of 14 after the 25% draw (most come with a hook): a linear factor
    # at threshold 1 repeats each 1 / (6/14) = 2.33 times, so the remedy visibly acts.
    path = workflow_copy / "config/remedies/person_25_rfs.yaml"
    path.write_text(path.read_text().replace("threshold: 0.5", "threshold: 1.0").replace("mode: sqrt", "mode: linear"))
    snakemake(
        workflow_copy,
        "--cores",
        "2",
        "--configfile",
        "config/demo.yaml",
        "config/remedies.yaml",
        "--config",
        "experiments=[person_25, person_25_rfs]",
        "replicates=2",
        "test_videos=[]",
        "--",
        "results/comparison_stats.csv",
        "results/comparison.csv",
        "results/findings.md",
    )
    stats = pd.read_csv(workflow_copy / "results/comparison_stats.csv")
    assert set(zip(stats["reference run"], stats["run"])) == {
        ("person_25", "person_25_rfs"),  # replicate 0, and both replicates together (replicates 2)
        ("person_25__rep1", "person_25_rfs__rep1"),
    }, stats
    # the findings state what the replicate rows say, and what they rest on
    findings = (workflow_copy / "results/findings.md").read_text()
    claims = stats[(stats["replicates"] == 2) & (stats["metric"] == "AP_50_95")]
    assert len(claims) == 2 and set(claims["interval covers"]) == {"replicates and test images"}
    for row in claims.to_dict("records"):
        numbers = f"{row['difference']:+.2f} [{row['ci95 low']:+.2f}, {row['ci95 high']:+.2f}]"
        rests_on = f"95% interval over 2 replicates x {row['test images']} test images"
        line = next(line for line in findings.splitlines() if line.startswith(f"- {row['class']} AP50:95, person_25_rfs "))
        assert "vs its baseline person_25" in line and f"{numbers}, {rests_on}" in line, line
        assert ("- not different: the interval includes 0" in line) != bool(row["interval excludes 0"]), line
        # 2.33 copies per person frame: more compute than its baseline, and the findings say so
        assert "; not at equal compute: it saw " in line and "more training images than its baseline" in line, line
    # claims rest on the replicate rows, not on single runs
    assert not any("__rep1" in line for line in findings.splitlines() if "AP50:95" in line)
    table = pd.read_csv(workflow_copy / "results/comparison.csv").set_index("run")
    assert table.loc["person_25", "sampling"] == "fractions"
    assert table.loc["person_25_rfs", "sampling"] == "repeat factor"
    # the rare class's frames are repeated: more training images and more compute than its baseline
    assert table.loc["person_25_rfs", "train images person"] > table.loc["person_25", "train images person"]
    assert table.loc["person_25_rfs", "train frames person"] == table.loc["person_25", "train frames person"]
    assert table.loc["person_25_rfs", "training images seen"] > table.loc["person_25", "training images seen"]
    stats_rfs = json.loads((workflow_copy / "results/person_25_rfs/dataset_stats.json").read_text())
    train = stats_rfs["splits"]["train"]
    share = train["classes"]["person"]["frames"] / train["frames"]
    assert stats_rfs["class_repeat_factors"]["person"] == pytest.approx(1.0 / share)
    assert set(train["copies_per_frame"]) > {"1"}
