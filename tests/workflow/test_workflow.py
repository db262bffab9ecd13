"""The DAG, by real Snakemake dry runs: job counts, DAG-build-time errors, typed overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import DEMO, REPO, job_counts, readme_local_rules, snakemake


def test_dry_run_lists_every_stage(workflow_copy):
    out = snakemake(workflow_copy, "-n", *DEMO).stdout
    assert job_counts(out) == {
        "record_code_versions": 1,
        "make_demo_project": 1,
        "split_dataset": 1,
        "prepare_dataset": 4,
        "resolve_config": 4,
        "training_plan": 1,
        "train": 4,
        "evaluate": 4,
        "infer": 8,
        "summarize": 4,
        "aggregate": 1,
        "findings": 1,
        "plot_comparison": 1,
        "plot_video_strip": 2,
        "compare_pairs": 1,
    }
    # a video name with '+' is a valid wildcard value
    assert "results/exp_person_25/inference/detected_crane_hook+human_short.mp4" in out
    assert out.count("note: one training per run (replicates: 1)") == 1 and "fewer than 4 replicates" not in out


@pytest.mark.parametrize("replicates, said", [(2, True), (3, True), (4, False)])
def test_the_dry_run_says_once_when_replicates_are_too_few_for_a_verdict_to_find_an_effect(workflow_copy, replicates, said):
    out = snakemake(workflow_copy, "-n", *DEMO, "--config", f"replicates={replicates}", "--quiet", "rules").stdout
    note = f"note: replicates: {replicates} - fewer than 4 replicates per run"
    assert out.count(note) == (1 if said else 0) and "one training per run" not in out, out[-3000:]
    assert said or "replicates: 4 would tell more" not in out


def test_bad_experiment_file_fails_the_dry_run_naming_file_key_and_choices(workflow_copy):
    path = workflow_copy / "config/experiments/exp_person_25.yaml"
    path.write_text(path.read_text().replace("person: 0.25", "persn: 0.25"))
    proc = snakemake(workflow_copy, "-n", *DEMO, check=False)
    assert proc.returncode != 0
    assert "config/experiments/exp_person_25.yaml: frame_sample_fractions: unknown class 'persn'" in proc.stdout
    assert "known classes: crane hook, person" in proc.stdout


def test_invalid_model_resolution_pair_fails_the_dry_run(workflow_copy):
    proc = snakemake(workflow_copy, "-n", *DEMO, "--config", "training={model: base, image_size: 640}", check=False)
    assert proc.returncode != 0
    assert "training.image_size: 640 is not valid for model 'base'" in proc.stdout
    assert "nearest valid: 616 or 672" in proc.stdout


def test_missing_project_and_video_are_named_at_dag_time(workflow_copy, tmp_path):
    proc = snakemake(workflow_copy, "-n", check=False)  # the default config's project is not bundled
    assert proc.returncode != 0
    assert "project_dir: data/projects/Test does not exist" in proc.stdout
    project = tmp_path / "proj"
    (project / "videos").mkdir(parents=True)
    (project / "videos" / "crane_hook_1_short.mp4").write_bytes(b"")
    proc = snakemake(workflow_copy, "-n", "--config", f"project_dir={project}", check=False)
    assert proc.returncode != 0
    assert f"test_videos: {project}/videos/crane_hook+human_short.mp4 not found" in proc.stdout


def test_command_line_overrides_keep_their_types(workflow_copy):
    target = "results/exp_person_25/config.yaml"
    snakemake(workflow_copy, *DEMO, "--cores", "1", "--config", "training={epochs: 100, batch_size: 8, lr: 5e-5}", "--", target)
    resolved = yaml.safe_load((workflow_copy / target).read_text())
    assert resolved["training"]["epochs"] == 100
    assert resolved["training"]["batch_size"] == 8
    assert resolved["training"]["lr"] == 5e-5
    assert resolved["training"]["model"] == "nano"  # untouched keys keep the demo's values
    assert resolved["experiment"]["frame_sample_fractions"] == {"crane hook": 1.0, "person": 0.25}


def test_a_yolo_project_is_detected_when_the_dag_is_built(workflow_copy, tmp_path):
    import cv2
    import numpy as np

    project = tmp_path / "yolo"
    (project / "images").mkdir(parents=True)
    (project / "labels").mkdir()
    (project / "data.yaml").write_text("names: [person, crane hook]\n")
    for i in range(5):  # five clips: enough to split (the dry run checks the split too)
        cv2.imwrite(str(project / "images" / f"c{i}_0.jpg"), np.zeros((8, 8, 3), np.uint8))
        (project / "labels" / f"c{i}_0.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    proc = snakemake(workflow_copy, "-n", "--config", f"project_dir={project}", "test_videos=[]")
    assert job_counts(proc.stdout)["split_dataset"] == 1
    assert f"{project}/data.yaml" in proc.stdout  # the split's input is the YOLO data.yaml


def test_what_the_split_would_refuse_in_the_annotations_fails_the_dry_run(workflow_copy, tmp_path):
    """A class the project lacks, and photos that form no clips, are named by the dry run (read from
    the annotations: no job planned), not by the split job."""
    from projects import coco_file

    project = tmp_path / "photos"
    names = [f"pic_{i}x.jpg" for i in range(24)]  # no frame number: every photo a clip of its own
    for name in names:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(b"never decoded by a dry run")
    coco_file(project / "_annotations.coco.json", names, [[i % 2] for i in range(24)])
    config = ["--config", f"project_dir={project}", "test_videos=[]"]
    proc = snakemake(workflow_copy, "-n", *config, "classes=[crane hook, person, dog]", check=False)
    assert proc.returncode != 0 and "Job stats" not in proc.stdout
    assert "project_dir: " in proc.stdout and "'dog'" in proc.stdout, proc.stdout[-3000:]
    proc = snakemake(workflow_copy, "-n", *config, check=False)
    assert proc.returncode != 0 and "Job stats" not in proc.stdout
    assert (
        "the 24 frames form 24 clips, 24 of them of a single frame" in proc.stdout and "splits.group_frames: false" in proc.stdout
    )
    out = snakemake(workflow_copy, "-n", *config, "splits={group_frames: false}").stdout
    assert job_counts(out)["split_dataset"] == 1


def test_published_weights_are_fetched_once_by_a_local_job_before_training(workflow_copy):
    out = snakemake(workflow_copy, "-n", *DEMO, "--config", "training={pretrain_weights: auto}").stdout
    assert job_counts(out)["fetch_weights"] == 1
    assert job_counts(out)["train"] == 4
    assert "resources/weights/rf-detr-nano-coco.pth" in out
    # the cache folder is configurable
    out = snakemake(workflow_copy, "-n", *DEMO, "--config", "training={pretrain_weights: auto}", "weights_dir=/shared/w").stdout
    assert "/shared/w/rf-detr-nano-coco.pth" in out


def test_a_missing_checkpoint_path_fails_the_dry_run(workflow_copy):
    proc = snakemake(workflow_copy, "-n", *DEMO, "--config", "training={pretrain_weights: runs/old/best.pth}", check=False)
    assert proc.returncode != 0
    assert "training.pretrain_weights: runs/old/best.pth is not a file - allowed: auto" in proc.stdout


def test_an_offline_fetch_fails_naming_the_file_to_place_by_hand(workflow_copy):
    # A proxy that refuses connections makes this machine offline, whatever the test machine's network.
    offline = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    target = "resources/weights/rf-detr-nano-coco.pth"
    proc = snakemake(workflow_copy, *DEMO, "--cores", "1", "--", target, check=False, env=offline)
    assert proc.returncode != 0
    assert "Error in rule fetch_weights" in proc.stdout
    assert (
        "curl -L -o rf-detr-nano-coco.pth https://storage.googleapis.com/rfdetr/nano_coco/checkpoint_best_regular.pth"
        in proc.stdout
    )
    assert f"copy it to\n    {(workflow_copy / target).resolve()}" in proc.stdout
    assert not (workflow_copy / target).exists()


def test_a_command_line_sweep_is_typed_and_crossed_with_every_experiment(workflow_copy):
    sweep = (
        "--config",
        "sweep={training.epochs: [1, 2], training.lr: [1e-4, 5e-5]}",
        "experiments=[exp_person_25, exp_person_100]",
    )
    out = snakemake(workflow_copy, "-n", *DEMO, *sweep).stdout
    assert job_counts(out)["train"] == 8 and job_counts(out)["infer"] == 16
    target = "results/exp_person_25__epochs-2__lr-5e-05/config.yaml"
    assert target in out
    snakemake(workflow_copy, *DEMO, *sweep, "--cores", "1", "--", target)
    resolved = yaml.safe_load((workflow_copy / target).read_text())
    assert resolved["training"]["epochs"] == 2 and resolved["training"]["lr"] == 5e-05
    assert resolved["run"] == {
        "id": "exp_person_25__epochs-2__lr-5e-05",
        "swept": {"training.epochs": 2, "training.lr": 5e-05},
        "replicate": 0,
        "seed": 42,
    }
    assert "sweep" not in resolved
    # the report's description shows the settings the runs used: swept values where swept, else the config's
    report = workflow_copy / "report.html"
    snakemake(workflow_copy, *DEMO, *sweep, "--report", str(report), "--", target)
    description = _report_description(report)
    assert "trains an RF-DETR nano model for up to 1 or 2 (swept) epochs at 64 px" in description
    assert "(batch size 4, learning rate 1e-4 or 5e-5 (swept), pretrained weights: none)" in description
    assert "at a confidence threshold of 0.02." in description
    assert "training.epochs: 1, 2 training.lr: 1e-4, 5e-5 Read the Findings first (the category below)" in description
    assert "System Message" not in description  # valid reStructuredText


def _report_description(report: Path) -> str:
    """The text of the workflow description in a Snakemake report (stored in the page's data)."""
    import html as html_lib
    import re

    page = report.read_text()
    start = page.index("Class-imbalance study")
    text = re.sub(r"<[^>]+>", "", page[start : start + 5000].encode().decode("unicode_escape"))
    return " ".join(html_lib.unescape(text).split())


def test_adding_a_sweep_value_or_a_replicate_adds_only_the_new_runs(workflow_copy):
    base = ("--config", "sweep={training.epochs: [1, 2]}", "experiments=[exp_person_25]")
    datasets = ["results/exp_person_25__epochs-1/dataset_stats.json", "results/exp_person_25__epochs-2/dataset_stats.json"]
    configs = [d.replace("dataset_stats.json", "config.yaml") for d in datasets]
    snakemake(workflow_copy, *DEMO, *base, "--cores", "2", "--", *datasets, *configs)
    grown = ("--config", "sweep={training.epochs: [1, 2, 3]}", "experiments=[exp_person_25]", "replicates=2")
    out = snakemake(workflow_copy, "-n", *DEMO, *grown, "--", *datasets, *configs).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-2000:]  # the finished runs stay finished
    out = snakemake(workflow_copy, "-n", *DEMO, *grown).stdout
    assert job_counts(out)["prepare_dataset"] == 4 and job_counts(out)["resolve_config"] == 4  # 6 runs, 2 done


def test_replicates_draw_different_training_frames(workflow_copy):
    args = ("--config", "replicates=2", "experiments=[exp_person_25]")
    stats = ["results/exp_person_25/dataset_stats.json", "results/exp_person_25__rep1/dataset_stats.json"]
    snakemake(workflow_copy, *DEMO, *args, "--cores", "2", "--", *stats)
    first, second = (json.loads((workflow_copy / s).read_text()) for s in stats)
    assert (first["seed"], second["seed"]) == (42, 43)
    assert first["nominal_fractions"] == second["nominal_fractions"]
    assert set(first["train_frames"]) != set(second["train_frames"])  # same sampling rule, another draw
    assert first["splits"]["test"] == second["splits"]["test"]  # the held-out split is the study's


def test_a_bad_sweep_fails_the_dry_run(workflow_copy):
    proc = snakemake(workflow_copy, "-n", *DEMO, "--config", "sweep={training.epoch: [1, 2]}", check=False)
    assert proc.returncode != 0
    assert "sweep: unknown or study-wide key 'training.epoch'" in proc.stdout


ALL_RULES = {
    "record_code_versions",
    "split_dataset",
    "prepare_dataset",
    "resolve_config",
    "make_demo_project",
    "fetch_weights",
    "training_plan",
    "train",
    "link_training",
    "evaluate",
    "link_evaluation",
    "infer",
    "link_inference",
    "summarize",
    "aggregate",
    "findings",
    "plot_comparison",
    "plot_video_strip",
    "compare_pairs",
    "adjust_logits",
}


def readme_rules_of_module() -> dict[str, set[str]]:
    """The table of which rules' code digests cover each core module (docs/development.md)."""
    readme = (REPO / "docs/development.md").read_text()
    table = readme.split("| module | rules whose code digest covers it |", 1)[1].split("\n\n", 1)[0]
    rules_of: dict[str, set[str]] = {}
    for row in table.strip().splitlines()[1:]:
        modules, rules = row.strip("|").split("|")
        reach = ALL_RULES if rules.strip() == "every rule" else set(re.findall(r"\b[a-z_]+\b", rules)) & ALL_RULES
        rules_of.update({m: set(reach) for m in re.findall(r"`([\w./]+\.py)`", modules)})
    return rules_of


# Evaluated in a Snakefile that includes the real one: what its parsed workflow says, before any DAG.
DIGESTS = '{r.name: r.params.get("code") for r in workflow.rules if r.name != "all"}'
LOCAL_RULES = "sorted(workflow._localrules)"


def from_workflow(workdir: Path, expression: str):
    """The JSON value of a Python expression about the parsed workflow (demo config)."""
    (workdir / "probe.smk").write_text(
        f'import json\ninclude: "Snakefile"\nprint("PROBE " + json.dumps({expression}))\nsys.exit(0)\n'
    )
    out = snakemake(workdir, "-n", "-s", "probe.smk", *DEMO).stdout
    return json.loads(out.split("PROBE ", 1)[1].splitlines()[0])


# Printed when the dry run's process ends: what building the DAG imported.
LOADED_PROBE = """import atexit, json
include: "Snakefile"
LATER = ("detexp.train", "detexp.test", "detexp.report")
GPU = ("torch", "torchvision", "rfdetr", "supervision", "cv2", "faster_coco_eval")
atexit.register(
    lambda: print("LOADED " + json.dumps(sorted(m for m in sys.modules if m.startswith(LATER) or m.split(".")[0] in GPU)))
)
"""


def test_the_dag_build_loads_no_gpu_library_and_of_later_stages_only_the_training_records(workflow_copy):
    """Layers at DAG build: no GPU or video library, nothing of the test and report stages, and of the
    train stage only what reads finished trainings' records (which run links which)."""
    (workflow_copy / "probe.smk").write_text(LOADED_PROBE)
    out = snakemake(workflow_copy, "-n", "-s", "probe.smk", *DEMO).stdout
    loaded = json.loads(out.split("LOADED ", 1)[1].splitlines()[0])
    assert loaded == ["detexp.train", "detexp.train.linked_runs", "detexp.train.shared_training", "detexp.train.training_digest"]


def test_the_slurm_page_names_every_rule_that_runs_on_the_login_node(workflow_copy):
    assert set(from_workflow(workflow_copy, LOCAL_RULES)) == readme_local_rules()


def code_digests(workdir: Path) -> dict[str, str]:
    return from_workflow(workdir, DIGESTS)


# One parse of the workflow for every probed change (a parse per change took minutes in all): each file
# in turn gets a real statement, and every rule's code param is computed again by the function its
# params call, from the script the rule runs; the file is restored before the next.
CHANGE_PROBE = """import json
from pathlib import Path
include: "Snakefile"
SCRIPT_OF = {{r.name: Path(r.script).name for r in workflow.rules if r.name != "all"}}
assert {{rule: code_version(script) for rule, script in SCRIPT_OF.items()}} == {{
    r.name: r.params.get("code") for r in workflow.rules if r.name != "all"
}}, "the code params are not code_version of each rule's script"
after = {{}}
for changed in {paths!r}:
    original = Path(changed).read_bytes()
    try:
        Path(changed).write_bytes(original + b"\\n_DIGEST_PROBE = 1\\n")
        after[changed] = {{rule: code_version(script) for rule, script in SCRIPT_OF.items()}}
    finally:
        Path(changed).write_bytes(original)
print("PROBE " + json.dumps(after))
sys.exit(0)
"""


def code_digests_after_each_change(workdir: Path, paths: list[Path]) -> dict[str, dict[str, str]]:
    """Per changed file (each alone, restored after), every rule's code param."""
    (workdir / "probe.smk").write_text(CHANGE_PROBE.format(paths=[str(p) for p in paths]))
    out = snakemake(workdir, "-n", "-s", "probe.smk", *DEMO).stdout
    return json.loads(out.split("PROBE ", 1)[1].splitlines()[0])


def test_code_digests_follow_the_imports_of_every_rule(workflow_copy):
    """A real change in a core module changes the code digest (a param) of exactly the rules the
    table in docs/development.md names for it; a comment, a reformat or a docstring edit changes none."""
    package = workflow_copy / "workflow/scripts/detexp"
    expected_of = readme_rules_of_module()
    modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    assert modules == set(expected_of), modules ^ set(expected_of)  # a new module needs its row
    before = code_digests(workflow_copy)
    assert set(before) == ALL_RULES and all(before.values())  # every rule has a digest
    # Results of a run record which code they were made with; with that record a docstring edit keeps
    # the digest (without it, a fresh study, the digest is that of the code as it is).
    record = from_workflow(workflow_copy, "CODE_RECORD.used")
    (workflow_copy / "results").mkdir()
    (workflow_copy / "results/code_digests.json").write_text(json.dumps(record))
    scripts = {rule: f"{rule}.py" for rule in ALL_RULES}
    changes = [(package / m, rules) for m, rules in expected_of.items()]
    changes += [(workflow_copy / "workflow/scripts" / scripts[r], {r}) for r in ("evaluate", "resolve_config")]
    originals = {path: path.read_bytes() for path, _ in changes}
    # A docstring and a comment edited in every file at once (one parse of the workflow; each file
    # alone only where that fails, to name it) change no digest.
    try:
        for path, original in originals.items():
            edited = b'"""Edited. ' + original[3:] if original.startswith(b'"""') else original
            path.write_bytes(edited + b"\n# a comment, a reformat and a docstring edit change nothing\n")
        unchanged = code_digests(workflow_copy) == before
    finally:
        for path, original in originals.items():
            path.write_bytes(original)
    if not unchanged:
        for path, original in originals.items():
            try:
                path.write_bytes(b'"""Edited. ' + original[3:] + b"\n# a comment\n")
                assert code_digests(workflow_copy) == before, f"a docstring or comment edit in {path.name} changed a digest"
            finally:
                path.write_bytes(original)
    found, wrong = {}, []
    digests_after = code_digests_after_each_change(workflow_copy, [path for path, _ in changes])
    for path, expected in changes:
        after = digests_after[str(path)]
        name = path.relative_to(package).as_posix() if path.is_relative_to(package) else path.name
        found[name] = {rule for rule in before if after[rule] != before[rule]}
        if found[name] != expected:
            wrong.append(name)
    table = "\n".join(f"{name}: {', '.join(sorted(rules)) or 'none'}" for name, rules in sorted(found.items()))
    assert not wrong, f"docs/development.md's table differs for {', '.join(wrong)}; the workflow's reach:\n{table}"


def test_definitions_moved_between_modules_rerun_nothing_once_recorded(workflow_copy):
    """A new layout of the package (here describe_gap moved from equal_compute.py into verdicts.py, which
    reach the same rules) keeps every code param once a study recorded its code, by what it defines;
    without the record the params do change (the move is not invisible to the syntax trees)."""
    package = workflow_copy / "workflow/scripts/detexp"
    before = code_digests(workflow_copy)
    record = from_workflow(workflow_copy, "CODE_RECORD.used")
    compute, verdicts = package / "report/equal_compute.py", package / "report/verdicts.py"
    text = compute.read_text()
    moved = text[text.index("def describe_gap(") :]
    compute.write_text(text.replace(moved, "") + "from .verdicts import describe_gap  # noqa: F401, E402\n")
    verdicts.write_text(verdicts.read_text() + "\n\n" + moved)
    unrecorded = code_digests(workflow_copy)
    moved_to = {rule for rule in before if unrecorded[rule] != before[rule]}
    assert moved_to == {"summarize", "aggregate", "plot_comparison", "findings"}, moved_to
    (workflow_copy / "results").mkdir()
    (workflow_copy / "results/code_digests.json").write_text(json.dumps(record))
    assert code_digests(workflow_copy) == before
    # a real change to a moved definition is still one
    verdicts.write_text(verdicts.read_text().replace('direction = "more" if gap > 0 else "fewer"', 'direction = "more"'))
    changed = code_digests(workflow_copy)
    assert {rule for rule in before if changed[rule] != before[rule]} == moved_to


def test_a_module_moved_into_a_stage_folder_reruns_nothing_recorded_or_not(workflow_copy):
    """Stage folders are places, not package levels: device.py (lazily imported by evaluate and infer,
    imported by train) moved from the top of the package into train/, its imports rewritten, keeps
    every rule's code param, without a record of the study's code too."""
    package = workflow_copy / "workflow/scripts/detexp"
    before = code_digests(workflow_copy)
    (package / "device.py").rename(package / "train/device.py")
    for module, old, new in [
        ("train/training.py", "from ..device import", "from .device import"),
        ("test/evaluation.py", "from ..device import", "from ..train.device import"),
        ("test/inference.py", "from ..device import", "from ..train.device import"),
    ]:
        text = (package / module).read_text()
        assert old in text
        (package / module).write_text(text.replace(old, new))
    assert code_digests(workflow_copy) == before


def test_video_strip_rows_follow_the_comparison_order(workflow_copy):
    (workflow_copy / "strips.smk").write_text(
        'import json\ninclude: "Snakefile"\nprint("STRIPS " + json.dumps(STRIP_RUNS))\nsys.exit(0)\n'
    )
    out = snakemake(workflow_copy, "-n", "-s", "strips.smk", *DEMO).stdout
    # by fraction (exp_person_100 sorts first by name, last by fraction)
    assert json.loads(out.split("STRIPS ", 1)[1].splitlines()[0]) == [
        "exp_person_25",
        "exp_person_50",
        "exp_person_75",
        "exp_person_100",
    ]


# rfdetr's and Lightning's own file names in rfdetr's working folder (the state folder), read there.
# rfdetr's own file names in its working folder (the state folder), which layout's outputs happen to share
RFDETR_NAMES = {"shared_training.py": {"checkpoint_best_total.pth", "metrics.csv"}}


def test_no_core_module_spells_an_output_name_that_layout_defines():
    """Every output path is defined once, in detexp/layout.py: the core writes the paths its rule
    passes in (or builds them from layout), so a renamed output cannot pass the dry run and fail after
    a training. Messages and docstrings (text with spaces) may name files; path strings may not."""
    import ast

    from conftest import SCRIPTS
    from detexp import layout

    patterns = [v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str)] + list(layout.BENCHMARKS.values())
    names = {Path(p).name for p in patterns if "." in Path(p).name}
    assert {"metrics.json", "checkpoint_best_total.pth", "_annotations.coco.json", "splits.json"} <= names
    found = []
    for module in sorted((SCRIPTS / "detexp").rglob("*.py")):
        if module.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and not any(c.isspace() for c in node.value):
                spelled = {n for n in names if node.value == n or node.value.endswith("/" + n)}
                found += [(module.name, node.lineno, n) for n in spelled - RFDETR_NAMES.get(module.name, set())]
    assert found == []
    # the one rfdetr name that layout spells too
    from detexp import layout
    from detexp.train import shared_training

    assert layout.TRAINING_STATE_METRICS == f"{layout.TRAINING_STATE_DIR}/{shared_training.STATE_METRICS}"


def test_no_module_spells_a_comparison_column_that_columns_defines():
    """The comparison tables' columns are named once, in detexp/report/columns.py: the writer and every reader
    take them from there, so a renamed column cannot leave a reader behind. Checked for the names of
    several words (one-word names such as "run" or "note" are common words in other tables too)."""
    import ast

    from conftest import SCRIPTS
    from detexp.report.columns import Comparison, Stats

    names = {v for cls in (Stats, Comparison) for v in vars(cls).values() if isinstance(v, str) and " " in v}
    # also the text of a value (what a per-run interval covers, in "interval covers"), and a header of
    # comparison.md's compact view (defined with its legend in summary.py)
    names -= {Stats.TEST_IMAGES, Stats.IMAGES_SEEN}
    assert {"ci95 low", "reference run", "won back", "interval excludes 0", "training images seen"} <= names
    found = []
    for module in sorted(SCRIPTS.rglob("*.py")):
        if module.name == "columns.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append((module.name, node.lineno, node.value))
    assert found == []


def test_the_snakefile_reads_the_config_file_layout_names():
    from conftest import REPO

    from detexp import layout

    assert f'configfile: "{layout.WORKFLOW_CONFIG}"' in (REPO / "Snakefile").read_text()
