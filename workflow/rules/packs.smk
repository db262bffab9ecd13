# Runs packed k to a GPU allocation (gpu_allocation.runs_per_gpu; detexp.study.packs): one job per pack
# trains its runs side by side on one GPU, then evaluates and infers each (detexp.packing). Its
# outputs are its runs' own (the train, evaluate and infer rules' files), made by the same code with
# the same settings, so everything after it is the same as for unpacked runs.
from detexp.study.packs import PACK_BENCHMARK, describe_packs, pack_minutes, plan_packs

PACKS = plan_packs(
    {
        rid: run.point
        for rid, run in RUNS.items()
        if rid not in LINKED_TRAININGS and run_gpus(rid) == 1
    },
    config["gpu_allocation"]["runs_per_gpu"],
)
try:
    for _runs in PACKS.values():
        pack_minutes(config["gpu_allocation"], len(VIDEOS), len(_runs))
except ConfigError as err:
    _fail(err)
PACK_OF = {run: pack for pack, runs in PACKS.items() for run in runs}
if PACKS and workflow.is_main_process:
    print(f"note: {describe_packs(PACKS)}", file=sys.stderr)


# What the profile sets for train (partition, GPU model, constraint, CPUs and memory per thread), for
# each pack too: a profile names rules, and packs are named per study. (Snakemake keeps the parsed
# set-resources per rule name here; a version without it is refused, not run with bare packs.)
_OVERWRITTEN = getattr(workflow.resource_settings, "_parsed_overwrite_resources", None)
if PACKS and _OVERWRITTEN is None:
    _fail(
        "gpu_allocation.runs_per_gpu: this Snakemake version does not let the packs take the profile's "
        "set-resources of train; use runs_per_gpu 1 (or report it)"
    )

_TRAIN = workflow.modifier.modify_rulename(
    "train"
)  # its name where the workflow is a module

for _pack, _runs in PACKS.items():
    if _TRAIN in _OVERWRITTEN:
        _OVERWRITTEN.setdefault(
            workflow.modifier.modify_rulename(f"train_{_pack}"), _OVERWRITTEN[_TRAIN]
        )

    rule:
        name:
            f"train_{_pack}"
        input:
            unpack(pack_inputs(_runs)),
        output:
            pack_outputs(_runs),
        log:
            pack_logs(_pack, _runs),
        benchmark:
            PACK_BENCHMARK.format(pack=_pack)
        conda:
            ENV
        threads: config["gpu_allocation"]["cpus_per_gpu"] * len(_runs)
        resources:
            gpu=1,
            runtime=config["gpu_allocation"]["time_limit_minutes"],
        params:
            members=pack_members(_runs),
            video_files=pack_video_files,
            code=code_version("train_pack.py"),
        script:
            "../scripts/train_pack.py"

    for _rule in ("train", "evaluate", "infer"):
        workflow.ruleorder(f"train_{_pack}", _rule)
