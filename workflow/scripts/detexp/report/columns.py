"""The columns of the two comparison tables, defined once: the module that writes a table and every
view that reads it (findings, verdicts, the compact view, collect_results) take the names from here.

- `Stats`: comparison_stats.csv, the paired bootstrap's table (detexp.report.bootstrap writes it): one row
  per compared run, reference run, class and metric.
- `Comparison`: comparison.csv, one row per run (detexp.report.summary writes it); the columns read outside
  that module.
"""

from __future__ import annotations


class Stats:
    """comparison_stats.csv (what each column means: workflow/report/comparison_stats.rst)."""

    RUN = "run"
    REFERENCE = "reference run"
    CLASS = "class"
    METRIC = "metric"
    REPLICATES = "replicates"
    AP = "AP"
    REFERENCE_AP = "reference AP"
    DIFFERENCE = "difference"
    LOW = "ci95 low"
    HIGH = "ci95 high"
    SAMPLES = "bootstrap samples"
    COVERS = "interval covers"
    REPLICATE_STD = "replicate std"
    REFERENCE_REPLICATE_STD = "reference replicate std"
    NOTE = "note"
    IMAGES_SEEN = "images seen"
    REFERENCE_IMAGES_SEEN = "reference images seen"
    TEST_IMAGES = "test images"
    WON_BACK = "won back"
    WON_BACK_LOW = "won back ci95 low"
    WON_BACK_HIGH = "won back ci95 high"
    WON_BACK_SAMPLES = "won back samples"
    WON_BACK_OF = "won back of"
    WON_BACK_NOTE = "won back note"
    EXCLUDES_ZERO = "interval excludes 0"

    # The columns of a bootstrap result's rows, in the file's order; the rest follow, in this order.
    ROW = (
        RUN,
        REFERENCE,
        CLASS,
        METRIC,
        REPLICATES,
        AP,
        REFERENCE_AP,
        DIFFERENCE,
        LOW,
        HIGH,
        SAMPLES,
        COVERS,
        REPLICATE_STD,
        REFERENCE_REPLICATE_STD,
        NOTE,
    )
    ADDED = (
        IMAGES_SEEN,
        REFERENCE_IMAGES_SEEN,
        TEST_IMAGES,
        WON_BACK,
        WON_BACK_LOW,
        WON_BACK_HIGH,
        WON_BACK_SAMPLES,
        WON_BACK_OF,
        WON_BACK_NOTE,
        EXCLUDES_ZERO,
    )
    ALL = ROW + ADDED


class Comparison:
    """comparison.csv: the columns read outside detexp.report.summary (the rest, per class and per video, are
    described in workflow/report/comparison.rst)."""

    RUN = "run"
    EXPERIMENT = "experiment"
    STATUS = "status"
    REMEDY = "remedy"
    NOTES = "notes"
    TEST_IMAGES = "test images"
    IMAGES_SEEN = "training images seen"

    @staticmethod
    def test_ap(cls: str) -> str:
        """The column of a class's test AP50:95."""
        return f"test AP50:95 {cls}"
