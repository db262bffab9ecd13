"""How many replicates a study's verdicts need, as measured, and what the dry run says of fewer."""

# The replicates per run at which the two-level interval was measured to hold its 95% on planted nulls
# and to find a planted effect (bench/calibration.py on the bundled demo, BENCHMARKS.md "Calibration",
# docs/statistics.md "What a verdict means"): what the views recommend, and below which they say that
# "not different" may mean "too few replicates to tell".
CALIBRATED_REPLICATES = 4
# What the dry run of a study without replicates says, once.
ONE_TRAINING_PER_RUN = (
    "one training per run (replicates: 1): the comparisons give each difference with its interval over test "
    "images and no verdict (higher, lower, wins back), because training noise is unmeasured; "
    f"replicates: {CALIBRATED_REPLICATES} would measure it"
)
# How often the two-level interval found the bundled demo's planted effect (person at 25%), by replicates
MEASURED_POWER = f"10% of comparisons at 2 replicates, 35% at 3, 88% at {CALIBRATED_REPLICATES}"
# What the dry run of a study with 2 to CALIBRATED_REPLICATES - 1 replicates says, once.
FEW_REPLICATES_NOTE = (
    f"fewer than {CALIBRATED_REPLICATES} replicates per run: a verdict (higher, lower, wins back) is stated only where "
    f"the interval over replicates excludes 0, which at this many was measured to find a real effect rarely "
    f"({MEASURED_POWER} on the bundled demo), so 'not different' may mean too few replicates; "
    f"replicates: {CALIBRATED_REPLICATES} would tell more"
)
