"""Write one experiment's fully resolved settings as YAML."""

import argparse
from pathlib import Path

import yaml

from detexp.cli import entry

parser = argparse.ArgumentParser(
    description="Write one run's fully resolved settings as YAML (Snakemake only: rule resolve_config)."
)


def from_snakemake(smk):
    return argparse.Namespace(config=smk.params.config, output=Path(smk.output[0]))


def run(args):
    if not hasattr(args, "config"):  # the settings come from the rule's params: nothing to do by hand
        parser.error("runs inside Snakemake only (rule resolve_config); see results/<run>/config.yaml")
    args.output.write_text(yaml.safe_dump(args.config, sort_keys=False))


entry(globals(), parser, from_snakemake, run)
