"""What every entry script shares: run from Snakemake (its log file) or from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

from .schemas import checked_setting, load_schema, schema_default


def redirect_output(log_path: str) -> int:
    """Send this process's stdout and stderr (C-level writes included) to the rule's log file;
    return a descriptor of the original stderr."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    original_stderr = os.dup(2)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    return original_stderr


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that say where a labelled project is and how to read it."""
    parser.add_argument("project_dir", type=Path, help="the labelled project (COCO, Roboflow COCO export, YOLO or Pascal VOC)")
    # One name per option (repeated): a list option would swallow the positionals written after it.
    parser.add_argument(
        "--class",
        dest="classes",
        action="append",
        required=True,
        metavar="NAME",
        help="a class to sample and train on (repeat for each, in the config's order)",
    )
    formats = load_schema("config.schema.yaml")["properties"]["project_format"]["enum"]
    parser.add_argument("--format", default=schema_default("project_format"), choices=formats)
    parser.add_argument("--annotations-file", help="COCO file in project_dir (default: detected)")
    parser.add_argument(
        "--images-dir", default=schema_default("images_dir"), help="folder of the COCO file_name entries, in project_dir"
    )
    parser.add_argument("--clip-regex", default=schema_default("splits.clip_regex"), help="clip of a frame from its file name")
    parser.add_argument(
        "--degenerate-boxes",
        default=schema_default("degenerate_boxes"),
        choices=load_schema("config.schema.yaml")["properties"]["degenerate_boxes"]["enum"],
        help="boxes of zero width or height: drop (counted, warned) or refuse",
    )
    parser.add_argument(
        "--bad-images",
        default=schema_default("bad_images"),
        choices=load_schema("config.schema.yaml")["properties"]["bad_images"]["enum"],
        help="images that cannot be decoded or are cut short: drop (counted, warned) or refuse",
    )
    parser.add_argument("--results", type=Path, help="a results folder whose cache of image checks to use and extend")
    parser.add_argument("--seed", type=int, default=schema_default("seed"))


def json_setting(dotted_key: str, schema_name: str) -> Callable[[str], Any]:
    """An argparse type: a JSON value checked against the schema's `dotted_key`, its defaults filled in."""

    def parse(text: str) -> Any:
        try:
            return checked_setting(json.loads(text), dotted_key, schema_name)
        except ValueError as err:  # not JSON, or not what the schema allows
            raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None

    return parse


def project_arguments(params: Any) -> dict[str, Any]:
    """The same, from a rule's params."""
    return {
        "project_dir": Path(params.project_dir),
        "classes": params.classes,
        "format": params.project_format,
        "annotations_file": params.annotations_file,
        "images_dir": params.images_dir,
        "degenerate_boxes": params.degenerate_boxes,
        "bad_images": params.bad_images,
        "seed": params.seed,
    }


def log(message: str) -> None:
    """One line for the log, flushed at once so a killed job still shows it."""
    print(message, flush=True)


# Notices of the libraries that say nothing about the run (a deprecated torch API that rfdetr calls;
# rfdetr's deprecated model classes, listed whenever it looks up a checkpoint's class - a run that
# uses RF-DETR base gets the workflow's own note in its training log).
QUIET_WARNINGS = (r"`torch\.jit\.script` is deprecated", r"The `RFDETR\w*` was deprecated since")


def _show_each_warning_once() -> None:
    """A library's warning once per job, not once per line that raises it: by its category and text,
    whatever filters the libraries set meanwhile (a filter of "default" or "always" inserted by one
    of them would print it again from another line)."""
    warnings.simplefilter("once")
    shown: set[tuple[str, str]] = set()
    show = warnings.showwarning

    def show_once(message, category, filename, lineno, file=None, line=None):
        if (category.__name__, str(message)) not in shown:
            shown.add((category.__name__, str(message)))
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = show_once


def _run_from_snakemake(smk: Any, run: Callable[[], Any]) -> None:
    """Run a rule's job: output to its log, the failure's reason also to Snakemake's output."""
    original_stderr = redirect_output(str(smk.log[0])) if smk.log else None
    # A log file is not a terminal: rfdetr's Rich tables (forced to a terminal) then carry no colour codes.
    os.environ["TERM"] = "dumb"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _show_each_warning_once()
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=FutureWarning)
    if os.environ.get("SLURM_JOB_ID"):
        # Which allocation ran this job: with job groups, several rules share one.
        log(f"running in SLURM job {os.environ['SLURM_JOB_ID']} on {socket.gethostname()}")
    try:
        run()
    except Exception as err:
        # The traceback goes to the log; the reason also to Snakemake's own output, where users look.
        if original_stderr is not None:
            os.write(original_stderr, f"{type(err).__name__}: {err}\n".encode())
        raise


def entry(
    namespace: dict[str, Any],
    parser: argparse.ArgumentParser,
    from_snakemake: Callable[[Any], argparse.Namespace],
    run: Callable[[argparse.Namespace], Any],
) -> None:
    """Call `run` with arguments from Snakemake's `snakemake` object, or else from the command line."""
    smk = namespace.get("snakemake")
    if smk is not None:
        _run_from_snakemake(smk, lambda: run(from_snakemake(smk)))
    elif namespace.get("__name__") == "__main__":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(parser.parse_args())


def snakemake_only(namespace: dict[str, Any], run: Callable[[Any], Any]) -> None:
    """Call `run` with Snakemake's `snakemake` object: a script no user calls by hand."""
    smk = namespace.get("snakemake")
    if smk is not None:
        _run_from_snakemake(smk, lambda: run(smk))
    elif namespace.get("__name__") == "__main__":
        sys.exit(f"{namespace.get('__file__', 'this script')} is run by the workflow's rule, not from the command line")
