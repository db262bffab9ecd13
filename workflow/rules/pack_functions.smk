# Input, output, log and param functions of the pack rules (packs.smk): each run's share of a pack
# job, derived from the train, evaluate and infer rules' own inputs, params and paths.
from snakemake.iocontainers import Wildcards


def _of_run(value, run):
    """A rule's input or param for one run: its function called, its pattern filled in."""
    wildcards = Wildcards(fromdict={"run": run})
    if callable(value):
        return value(wildcards)
    if isinstance(value, str):
        return value.format(run=run)
    return [_of_run(v, run) for v in value] if isinstance(value, list) else value


def pack_inputs(runs):
    """Input function: every run's training inputs (as train's), test split, videos and priors, and
    the run whose finished training a run links (shared_training_source, as for train).
    """

    def inputs(wildcards):
        files = {"videos": list(map(str, VIDEOS.values()))}
        for i, run in enumerate(runs):
            files.update(
                {f"{name}_{i}": _of_run(v, run) for name, v in TRAINING_INPUTS.items()}
            )
            files[f"test_annotations_{i}"] = TEST_ANNOTATIONS.format(run=run)
            files[f"dataset_stats_{i}"] = _of_run(inference_priors, run)
            source = shared_training_source(run)
            if source in runs:
                # a pack-mate, trained first by this very job: named by one of its inputs (its
                # training split), as its training summary would be this job's own output
                files[f"same_training_as_{i}"] = DATASET_SPLIT_ANNOTATIONS.format(
                    run=source, split="train"
                )
            elif source is not None and source not in PACK_OF:
                files[f"shared_training_{i}"] = TRAINING_SUMMARY.format(run=source)
            # (a run of another pack: no wait between packs, which could wait for each other; the
            # run links that training if it has finished by then, else trains it itself)
        return files

    return inputs


def pack_outputs(runs):
    """Every run's training, evaluation and inference outputs (the report's confusion matrices too)."""
    outputs = []
    for run in runs:
        outputs += [pattern.format(run=run) for pattern in TRAINING_OUTPUTS.values()]
        outputs += [EVAL_METRICS.format(run=run), EVAL_PREDICTIONS.format(run=run)]
        outputs.append(confusion_matrix_output(CONFUSION_MATRIX.format(run=run), run))
        outputs += expand(list(INFERENCE_OUTPUTS.values()), run=run, video=VIDEOS)
    return outputs


def pack_logs(pack, runs):
    """The pack's own log, then each run's train, evaluate and infer logs (as the rules name them)."""
    logs = [f"logs/packs/{pack}.log"]
    for run in runs:
        logs += [r.log[0].format(run=run) for r in (rules.train, rules.evaluate)]
        logs += expand(rules.infer.log[0], run=run, video=VIDEOS)
    return logs


def pack_members(runs):
    """Param function: what each run's steps are called with (detexp.packing), from the train,
    evaluate and infer rules' own params and files."""

    def members(wildcards):
        out = {}
        for run in runs:
            train = {name: _of_run(v, run) for name, v in TRAINING_PARAMS.items()}
            evaluation = {
                name: _of_run(v, run) for name, v in EVALUATION_PARAMS.items()
            }
            inference = {name: _of_run(v, run) for name, v in INFERENCE_PARAMS.items()}
            checkpoint_path = CHECKPOINT.format(run=run)
            outputs = {n: p.format(run=run) for n, p in TRAINING_OUTPUTS.items()}
            train_log = rules.train.log[0].format(run=run)
            out[run] = {
                "train": {
                    "dataset_dir": train["dataset_dir"],
                    "paths": {
                        **{
                            n: outputs[n]
                            for n in ("checkpoint", "class_info", "metrics", "summary")
                        },
                        "state_dir": train["state_dir"],
                        "lock": train["lock"],
                        "study_dir": train["study_dir"],
                        "job_log": train_log,
                        "kept_log": train["kept_log"],
                    },
                    "classes": train["classes"],
                    "training": train["training"],
                    "seed": train["seed"],
                    "pretrain_path": pretrain_weights_file(run),
                    "same_as": None,  # train_pack.py's, from pack_inputs' shared inputs
                    "log": train_log,
                },
                "evaluate": {
                    "checkpoint": checkpoint_path,
                    "annotations": TEST_ANNOTATIONS.format(run=run),
                    "outputs": {
                        "metrics": EVAL_METRICS.format(run=run),
                        "predictions": EVAL_PREDICTIONS.format(run=run),
                        "confusion_matrix": CONFUSION_MATRIX.format(run=run),
                    },
                    **evaluation,
                    "log": rules.evaluate.log[0].format(run=run),
                },
                "infer": [
                    {
                        "video": str(VIDEOS[video]),
                        "checkpoint": checkpoint_path,
                        "out_video": DETECTED_VIDEO.format(run=run, video=video),
                        "out_json": DETECTIONS.format(run=run, video=video),
                        # infer's params but the adjustment: InferenceSettings
                        "settings": {
                            n: v
                            for n, v in inference.items()
                            if n != "logit_adjustment_tau"
                        },
                        "logit_adjustment_tau": inference["logit_adjustment_tau"],
                        "dataset_stats": DATASET_STATS.format(run=run),
                        "log": rules.infer.log[0].format(run=run, video=video),
                    }
                    for video in VIDEOS
                ],
            }
        return out

    return members


def pack_video_files(wildcards):
    """The test videos by name, size and modification time, as infer's video_file param."""
    return [video_file(Wildcards(fromdict={"video": video})) for video in VIDEOS]
