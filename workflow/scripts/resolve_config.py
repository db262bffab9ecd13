"""Write one experiment's fully resolved settings as YAML."""

import argparse
from pathlib import Path

import yaml

from detexp.cli import entry

parser = argparse.ArgumentParser(description=__doc__)


def from_snakemake(smk):
    return argparse.Namespace(config=smk.params.config, output=Path(smk.output[0]))


def run(args):
    args.output.write_text(yaml.safe_dump(args.config, sort_keys=False))


entry(globals(), parser, from_snakemake, run)
