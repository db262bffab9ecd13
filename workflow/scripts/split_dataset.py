"""Split a project's frames into train/valid/test by clip, once for the whole study."""

import argparse
import json
from pathlib import Path

from detexp.cli import add_project_arguments, entry, log, project_arguments
from detexp.data.formats import read_project_of
from detexp.data.sampling import assign_splits, split_statistics
from detexp.layout import RESULTS_DIR, SPLIT_NAMES
from detexp.schemas import schema_default
from detexp.tables import html_page

parser = argparse.ArgumentParser(description=__doc__)
add_project_arguments(parser)
parser.add_argument("output", type=Path, help="splits JSON to write")
parser.add_argument("html", type=Path, help="HTML table of frames and clips per split to write")
parser.add_argument("--valid-fraction", type=float, default=schema_default("splits.valid_fraction"))
parser.add_argument("--test-fraction", type=float, default=schema_default("splits.test_fraction"))
parser.add_argument(
    "--independent-frames",
    dest="group_frames",
    action="store_false",
    help="every frame is a clip of its own (a project of independent photos; config splits.group_frames: false)",
)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        **project_arguments(p),
        results=Path(RESULTS_DIR),  # the study's, in the working folder: its cache of image checks
        output=Path(smk.output.splits),
        html=Path(smk.output.html),
        valid_fraction=p.splits["valid_fraction"],
        test_fraction=p.splits["test_fraction"],
        clip_regex=p.splits["clip_regex"],
        group_frames=p.splits["group_frames"],
    )


def run(args):
    import pandas as pd

    project = read_project_of(args, log)
    splits = assign_splits(
        project.frames, args.valid_fraction, args.test_fraction, args.seed, project.clip_rule, args.group_frames
    )
    stats = split_statistics(project.frames, splits, project.clip_rule, args.group_frames)
    args.output.write_text(json.dumps({**splits, "statistics": stats}, indent=1) + "\n")
    table = pd.DataFrame({"split": SPLIT_NAMES, "frames": stats["frames"].values(), "clips": stats["clips"].values()})
    args.html.write_text(html_page(table, f"Splits: whole clips, grouped by {stats['grouped_by']}"))
    log("frames per split: " + ", ".join(f"{k} {n}" for k, n in stats["frames"].items()))
    log("clips per split: " + ", ".join(f"{k} {n}" for k, n in stats["clips"].items()) + f" (grouped by {stats['grouped_by']})")
    if stats["clips_in_several_splits"]:
        shared = stats["clips_in_several_splits"]
        log(
            f"warning: the project's own splits put frames of {len(shared)} clip(s) in more than one split, e.g. "
            f"{shared[0]!r} - near-identical frames may sit on both sides; the export's splits are kept as they are"
        )


entry(globals(), parser, from_snakemake, run)
