"""Write the synthetic demo project (COCO frames and test videos) - the make_demo_project rule."""

from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.data.demo import DEMO_VIDEOS, make_demo_project


def run(smk):
    videos = {Path(path): DEMO_VIDEOS[Path(path).name] for path in smk.output.videos}
    p = smk.params
    counts = make_demo_project(Path(smk.output.annotations), videos, n_clips=p.clips, frames_per_clip=p.frames_per_clip)
    log(f"demo project {smk.output.annotations}: {counts}")


snakemake_only(globals(), run)
