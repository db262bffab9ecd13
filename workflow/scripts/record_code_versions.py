"""Write the record of the code versions a study's jobs are made with (the rule's param), whole."""

import json

from detexp.cli import log, snakemake_only
from detexp.files import write_text_whole


def run(smk):
    write_text_whole(smk.output[0], json.dumps(smk.params.versions, indent=2, sort_keys=True) + "\n")
    log(f"{smk.output[0]}: the code versions of {len(smk.params.versions)} entry scripts")


snakemake_only(globals(), run)
