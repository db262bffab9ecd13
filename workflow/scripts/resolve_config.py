"""Write one run's fully resolved settings as YAML (the resolve_config rule; no command-line mode: the
settings come from the rule's params, and results/<run>/config.yaml is what it wrote)."""

from pathlib import Path

import yaml

from detexp.cli import snakemake_only


def run(smk):
    Path(smk.output[0]).write_text(yaml.safe_dump(smk.params.config, sort_keys=False))


snakemake_only(globals(), run)
