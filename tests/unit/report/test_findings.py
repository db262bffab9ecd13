"""The findings' sentences from hand-made comparison tables: numbers, what they rest on, verdicts."""

from __future__ import annotations

import pandas as pd

from detexp.report.findings import findings

TABLE = pd.DataFrame(
    [
        {"fraction crane hook": 1.0, "kept share crane hook": 1.0} | r
        for r in [
            {"run": "full", "fraction person": 1.0, "kept share person": 1.0, "remedy": "none", "notes": None},
            {
                "run": "quarter",
                "fraction person": 0.25,
                "kept share person": 0.5,
                "remedy": "none",
                "notes": "person: kept 50%",
            },
            {
                "run": "quarter_rfs",
                "fraction person": 0.25,
                "kept share person": 0.5,
                "remedy": "repeat-factor sampling",
                "notes": None,
            },
            {"run": "quarter_copy", "fraction person": 0.25, "kept share person": 0.5, "remedy": "none", "notes": None},
        ]
    ]
)


def row(run, reference, cls, difference, low, high, replicates=1, note="", seen=(None, None), won=None):
    return {
        **dict(zip(("won back", "won back ci95 low", "won back ci95 high", "won back of", "won back note"), won or (None,) * 5)),
        "images seen": seen[0],
        "reference images seen": seen[1],
        "run": run,
        "reference run": reference,
        "class": cls,
        "metric": "AP_50_95",
        "replicates": replicates,
        "difference": difference,
        "ci95 low": low,
        "ci95 high": high,
        "interval excludes 0": low > 0 or high < 0,
        "note": note,
        "test images": 120,
    }


def test_with_one_training_per_run_no_sentence_claims_a_direction():
    """The interval over test images cannot tell an effect from training noise: the difference and its
    interval are given, and in the verdict's place what is unmeasured and how to measure it."""
    stats = pd.DataFrame(
        [
            row("quarter", "full", "person", -0.12, -0.18, -0.07),
            row("quarter", "full", "crane hook", 0.01, -0.02, 0.04),
            row("quarter_rfs", "quarter", "person", 0.08, 0.03, 0.13),
            row("quarter_copy", "quarter", "person", float("nan"), float("nan"), float("nan"), note="identical training"),
        ]
    )
    text = findings(stats, TABLE)
    rests = "95% interval over 120 test images, one training per run"
    noise = "no verdict: training noise is unmeasured (one training per run); replicates: 4 would measure it"
    assert (
        f"- person AP50:95, quarter (person 25% asked, 50% kept) vs full (person 100% asked): -0.120 [-0.180, -0.070], {rests} - {noise}."
        in text
    )
    assert (
        f"- crane hook AP50:95, quarter (person 25% asked, 50% kept) vs full (person 100% asked): +0.010 [-0.020, +0.040], {rests} - {noise}."
        in text
    )
    assert (
        "- person AP50:95, quarter_rfs (person 25% asked, 50% kept; repeat-factor sampling) vs its baseline quarter "
        f"(person 25% asked, 50% kept): +0.080 [+0.030, +0.130], {rests} - {noise}." in text
    )
    for claim in (" - lower", " - higher", "wins back 0", " costs ", " - not different"):
        assert claim not in text, claim
    assert "**One training per run**: the intervals below cover which test images were drawn, not training noise" in text
    assert "- quarter_copy and quarter trained on identical inputs (the same settings, seed and data): one training" in text
    assert "- quarter: person: kept 50%." in text
    assert text.index("## Identical runs") < text.index("## crane hook") < text.index("## person")


def test_with_replicates_the_two_level_interval_decides_the_verdict():
    stats = pd.DataFrame(
        [
            row("quarter", "full", "person", -0.12, -0.18, -0.07, replicates=3),
            row("quarter", "full", "crane hook", 0.01, -0.02, 0.04, replicates=3),
            row("quarter_rfs", "quarter", "person", 0.08, 0.03, 0.13, replicates=3),
            row("quarter_rfs", "quarter", "crane hook", -0.05, -0.09, -0.01, replicates=3),
        ]
    )
    text = findings(stats, TABLE)
    rests = "95% interval over 3 replicates x 120 test images"
    assert f"(person 100% asked): -0.120 [-0.180, -0.070], {rests} - lower." in text
    assert f"(person 100% asked): +0.010 [-0.020, +0.040], {rests} - not different: the interval includes 0." in text
    assert f"+0.080 [+0.030, +0.130], {rests} - repeat-factor sampling wins back 0.080." in text
    assert f"-0.050 [-0.090, -0.010], {rests} - repeat-factor sampling costs 0.050." in text
    assert "One training per run" not in text
    # 3 replicates are fewer than the 4 at which the interval was measured to find a planted effect: said
    # once, up front; at 4 (and with no replicates, where no verdict is stated) not at all
    assert text.count("**Few replicates**") == 1 and text.index("**Few replicates**") < text.index("## person")
    assert "**Few replicates**" not in findings(stats.assign(replicates=1), TABLE)
    assert "**Few replicates**" not in findings(stats.assign(replicates=4), TABLE)


def test_bounds_near_zero_never_print_as_zero_and_shares_print_as_percent():
    from detexp.report.verdicts import interval, percent, signed

    assert signed(-0.0004) == "-0.00040" and signed(0.00031) == "+0.00031" and signed(0.0) == "0.000"
    assert interval(0.002, -0.0001, 0.0049) == "+0.002 [-0.00010, +0.005]"
    assert interval(-0.0002, -0.0004, -0.00001) == "-0.00020 [-0.00040, -0.000010]"
    assert percent(0.25) == "25%" and percent(None) == "-"


def test_with_replicates_the_claims_rest_on_the_replicate_rows():
    stats = pd.DataFrame(
        [
            row("quarter", "full", "person", -0.30, -0.35, -0.25),  # one replicate pair: not what a claim rests on
            row("quarter", "full", "person", -0.12, -0.25, 0.02, replicates=3),
        ]
    )
    text = findings(stats, TABLE)
    assert "-0.30" not in text
    assert (
        "-0.120 [-0.250, +0.020], 95% interval over 3 replicates x 120 test images - not different: the interval includes 0."
        in text
    )


def test_a_remedy_off_its_baselines_compute_is_said_to_be_and_a_fraction_experiment_is_not():
    stats = pd.DataFrame(
        [
            row("quarter_rfs", "quarter", "person", 0.08, 0.03, 0.13, 3, seen=(3200, 2560)),  # +25%
            row("quarter_rfs", "quarter", "crane hook", 0.01, -0.02, 0.04, 3, seen=(2800, 2560)),  # +9%: within
            row("quarter", "full", "person", -0.12, -0.18, -0.07, 3, seen=(2560, 5120)),  # less data: the question
        ]
    )
    text = findings(stats, TABLE)
    assert (
        "repeat-factor sampling wins back 0.080; not at equal compute: it saw 25% more training images than its "
        "baseline (3,200 vs 2,560)." in text
    )
    assert text.count("not at equal compute") == 1


def test_logit_adjustment_is_reported_against_the_same_checkpoint():
    table = TABLE.assign(
        **{
            "test F1": 0.5,
            "test F1 threshold": 0.35,
            "logit adjustment tau": 1.0,
            "adjusted F1": 0.55,
            "adjusted F1 threshold": 0.4,
            "test F1 crane hook": 0.6,
            "adjusted F1 crane hook": 0.58,
            "test F1 person": 0.3,
            "adjusted F1 person": 0.41,
        }
    )
    stats = pd.DataFrame([row("quarter", "full", "person", -0.12, -0.18, -0.07)])
    text = findings(stats, table)
    assert "## Post-hoc logit adjustment (tau 1)" in text and "AP does not change" in text
    assert (
        "- full: F1 0.500 at confidence 0.35 -> 0.550 at 0.4; per class crane hook 0.600 -> 0.580, person 0.300 -> 0.410." in text
    )
    assert "## Post-hoc" not in findings(stats, TABLE)


def test_remedies_are_ranked_by_the_share_of_the_lost_ap_they_win_back():
    table = pd.concat(
        [
            TABLE,
            pd.DataFrame(
                [
                    {
                        "run": "quarter_os",
                        "fraction person": 0.25,
                        "kept share person": 0.5,
                        "remedy": "oversampling",
                        "fraction crane hook": 1.0,
                        "kept share crane hook": 1.0,
                    }
                ]
            ),
        ]
    )
    stats = pd.DataFrame(
        [
            row("quarter", "full", "person", -0.12, -0.18, -0.07),
            row("quarter", "full", "crane hook", 0.01, -0.02, 0.04),
            row(
                "quarter_os",
                "quarter",
                "person",
                0.03,
                -0.01,
                0.07,
                won=(0.25, float("nan"), float("nan"), "full", "no interval: x"),
            ),
            row("quarter_rfs", "quarter", "person", 0.08, 0.03, 0.13, won=(0.67, 0.2, 1.1, "full", "")),
            row("quarter_rfs", "quarter", "crane hook", -0.02, -0.05, 0.01),
        ]
    )
    text = findings(stats, table)
    ranking = text.split("## Remedies for person, by the share of the lost AP50:95 each wins back\n\n", 1)[1]
    assert ranking.startswith(
        "1. quarter_rfs (repeat-factor sampling): +0.080 [+0.030, +0.130] of the 0.120 that quarter lost against full: "
        "67% [20%, 110%]; the other classes: crane hook -0.020 [-0.050, +0.010].\n"
        "2. quarter_os (oversampling): +0.030 [-0.010, +0.070] of the 0.120 that quarter lost against full: 25% (no interval: x).\n"
    ), ranking
    assert "The order is of point estimates, not a verdict: no verdict: training noise is unmeasured" in ranking
    # with replicates the order is still of point estimates: a ranked list must not read as a verdict
    replicated = findings(stats.assign(replicates=3), table)
    assert "two remedies rank apart only where their won-back intervals\ndo not overlap." in replicated
    assert "not a verdict" not in replicated.split("## Remedies for person", 1)[1]


def test_a_verdict_never_states_a_difference_that_reads_as_zero():
    from detexp.report.verdicts import verdict

    tiny = row("quarter_rfs", "quarter", "person", 0.0004, 0.0001, 0.0007, replicates=4)
    assert verdict(tiny, "rfs").text == "rfs wins back 0.00040"
    assert verdict(row("quarter_rfs", "quarter", "person", -0.08, -0.1, -0.05, replicates=4), "rfs").text == "rfs costs 0.080"


def test_a_comparison_where_neither_run_detects_the_class_says_it_gives_no_signal():
    """Both APs exactly 0: 'not different' alone would read as 'the data made no difference'."""
    blind = row("quarter", "full", "crane hook", 0.0, 0.0, 0.0, 3) | {"AP": 0.0, "reference AP": 0.0}
    seen = row("quarter", "full", "person", -0.12, -0.18, -0.07, 3) | {"AP": 0.0, "reference AP": 0.12}
    text = findings(pd.DataFrame([blind, seen]), TABLE)
    (crane_hook,) = [line for line in text.splitlines() if line.startswith("- crane hook AP50:95")]
    assert crane_hook.endswith(
        "- not different: the interval includes 0; no signal: neither run detects any crane hook on the test split "
        "(AP 0 in both), so this comparison cannot tell them apart."
    ), crane_hook
    (person,) = [line for line in text.splitlines() if line.startswith("- person AP50:95")]
    assert person.endswith(" - lower.") and "no signal" not in text.replace(crane_hook, "")
