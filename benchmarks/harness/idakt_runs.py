"""Pieces of Tables 3 and 4: auxiliary studio identities, pre-trained bundles (cached), the
fine-tune identity cut to a share of its training frames, and fine-tune steps to a PSNR."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

__all__ = [
    "GDRF_PRETRAIN",
    "PRETRAIN_CONFIGS",
    "aux_identities",
    "bundle_key",
    "bundle_refusal",
    "first_frames_folder",
    "fraction_folder",
    "pretrain_bundles",
    "steps_to_psnr",
]

# pre-training settings: the benchmark config of each (benchmarks/gin-configs; the shared model,
# idakt.gin adds the ID-Encoder), then the caller's shared files (rays, data, profile)
PRETRAIN_CONFIGS = {
    "rsdf": "table34/pretrain_rsdf",
    "er_nerf": "table34/pretrain_er_nerf",
    # GDRF's base models (benchmarks/harness/gdrf_tables.py): the full model, our DFRF
    # stand-in (image-space warping) and the Table 6 descriptors
    "gdrf": "gdrf/pretrain",
    "gdrf_image": "gdrf/pretrain_image",
    "gdrf_audio": "gdrf/pretrain_audio",
    "gdrf_lstm": "gdrf/pretrain_lstm",
    # and the ablation of its feature volumes' resolution (gdrf-table1 --ablations)
    "gdrf_quarter": "gdrf/pretrain_quarter",
}
# the GDRF settings pre-train with Adam at a constant 1e-4 (the paper's base model)
GDRF_PRETRAIN = ("gdrf", "gdrf_image", "gdrf_audio", "gdrf_lstm", "gdrf_quarter")


def aux_identities(work: Path, count: int, size: int, seconds: float) -> list[Path]:
    """Studio identities 1..count (disjoint from the fine-tune identity 0), written once."""
    from lokitalk_plugins.data.studio import synth

    root = Path(work) / f"studio_aux_{size}px_{seconds:.0f}s"
    folders = [root / f"id{i:03d}" for i in range(1, count + 1)]
    todo = [i for i, f in enumerate(folders, start=1) if not (f / "transforms_val.json").exists()]
    if todo:
        print(f"writing {len(todo)} auxiliary studio identities to {root} ...", flush=True)
        for i in todo:  # one call per missing identity keeps finished ones
            synth(root, identities=1, seconds=seconds, size=size, first=i, progress=True)
    return folders


def fraction_folder(data: Path, percent: int, root: Path | None = None) -> Path:
    """``data`` with only the first ``percent``% of its training frames (links to the rest),
    written under ``root`` (default: beside ``data``); the val split is unchanged."""
    if percent == 100:
        return data
    count = len(json.loads((data / "transforms_train.json").read_text())["frames"])
    out = Path(root or data.parent) / f"{data.name}_train{percent}"
    return first_frames_folder(data, max(2, round(count * percent / 100)), out)


def first_frames_folder(data: Path, keep: int, out: Path) -> Path:
    """``out``: ``data`` with only its first ``keep`` training frames (links to the rest and
    to its ground truth), written once; the val split is unchanged."""
    marker = out / "transforms_train.json"
    if not marker.exists():
        out.mkdir(parents=True, exist_ok=True)
        for item in data.iterdir():
            if item.name != "transforms_train.json" and not (out / item.name).exists():
                (out / item.name).symlink_to(item.resolve())
        truth = data.parent / f"{data.name}.truth"
        if truth.exists() and not (out.parent / f"{out.name}.truth").exists():
            (out.parent / f"{out.name}.truth").symlink_to(truth.resolve())
        meta = json.loads((data / "transforms_train.json").read_text())
        meta["frames"] = meta["frames"][:keep]
        marker.write_text(json.dumps(meta, indent=1))
    return out


def _pretrain_worker(
    setting: str,
    folders: list[str],
    bindings: list[str],
    steps: int,
    out: str,
    configs: list,
    key: dict | None = None,
) -> None:
    """A pool task: pre-train ``setting`` on ``folders`` for ``steps`` and save the bundle at
    ``out`` (its summary beside it, ``out.json``, with ``key``: what a later run compares
    before it reuses the bundle, :func:`bundle_key`)."""
    from lokitalk_plugins.adapters import save_identity_bundle
    from lokitalk_plugins.baselines.gdrf import GDRFPretraining, save_gdrf_bundle
    from lokitalk_plugins.commands.pretrain import build_pretraining
    from lokitalk_plugins.train import seed_everything
    from lokitalk_plugins.train.pretrain_loop import pretrain

    from .experiments import resolve

    seed_everything(0)
    gdrf = setting in GDRF_PRETRAIN
    multi = build_pretraining([resolve(c) for c in configs], bindings, folders,
                              multi=GDRFPretraining if gdrf else None)  # fmt: skip
    save_bundle = save_gdrf_bundle if gdrf else save_identity_bundle
    t0 = time.perf_counter()
    res = pretrain(
        multi,
        range(len(folders)),
        steps,
        lr_decay_to=1.0 if gdrf else 0.1,
        seed=0,
        out_dir=f"{out}.work",
        progress=False,
        log_every=max(1, steps // 40),
        optimizer=multi.optimizer_settings,
    )
    card = {
        "identities": len(folders),
        "steps": steps,
        "setting": setting,
        "pretrain_seconds": time.perf_counter() - t0,
        "bindings": bindings,
        **(key or {}),
    }
    save_bundle(multi.model, out, card=card)
    k = max(1, steps // 10)
    Path(f"{out}.json").write_text(
        json.dumps(
            dict(card, first_loss=sum(res["losses"][:k]) / k, last_loss=sum(res["losses"][-k:]) / k)
        )
    )


def bundle_key(configs: list[str], bindings: list[str], folders: list[Path]) -> dict:
    """What a cached bundle was made from: the gin files, the bindings, the identity folders
    (resolved) and the package source (:func:`~.common.package_tree`)."""
    from .common import package_tree

    return {"configs": list(configs), "bindings": list(bindings),
            "folders": [str(Path(f).resolve()) for f in folders],
            "package_tree": package_tree()}  # fmt: skip


def bundle_refusal(path: Path, key: dict) -> str | None:
    """Why the bundle cached at ``path`` cannot serve ``key`` (None: it can), in a few words
    naming what differs: made from other gin files, bindings, folders or package source, or
    before bundles recorded them (its summary ``path.json`` lacks them)."""
    summary = Path(f"{path}.json")
    if not (Path(path) / "config.json").exists() or not summary.is_file():
        return "no bundle" if not Path(path).exists() else "an unfinished bundle"
    try:
        old = json.loads(summary.read_text())
    except json.JSONDecodeError:
        return f"{summary.name} is not valid JSON"
    for name in ("configs", "bindings", "folders"):
        if old.get(name) != key[name]:
            return f"other {name} ({old.get(name)})"
    from .common import same_source

    code, now = old.get("package_tree"), key["package_tree"]
    if not same_source(code, now):
        return f"package source {code}, now {now}"
    return None


def pretrain_bundles(
    jobs: list[tuple[str, list[Path]]],
    shared: list[str],
    bindings: list[str],
    epochs: float,
    cache: Path,
    parallel: int = 2,
    audio2motion: str | None = None,
) -> dict[tuple[str, int], dict]:
    """Pre-train (setting, identity folders) jobs not in ``cache`` yet in the harness's
    process pool (:func:`~.workers.run_pool`), ``parallel`` at a time, each for ``epochs``
    passes over its identities' training frames (``epoch_steps``; the bundle's folder name
    holds its step count, so a changed budget is never served stale). shared: benchmark
    configs after the setting's own (the rays, the data, the profile); bindings: the run's
    (:func:`~.experiments.run_bindings`). audio2motion: an Audio2Motion checkpoint whose prior
    mean is RSDF's F_a in the "rsdf" setting (bundle names end in ``_a2m``). A cached bundle
    is reused only when it was made from the same gin files, bindings, folders and package
    source (:func:`bundle_refusal`); otherwise it is made again, and the reason printed.
    -> (setting, count) -> {"path", "cached", "epochs", "steps", and the worker's summary}."""
    from lokitalk_plugins.commands.pretrain import epoch_steps, train_frames

    from .experiments import config, run_bindings
    from .workers import run_pool

    result, tasks = {}, []
    for setting, folders in jobs:
        steps = epoch_steps(epochs, train_frames(folders))
        a2m = audio2motion if setting == "rsdf" else None
        path = cache / f"{setting}_{len(folders)}ids_{steps}steps{'_a2m' if a2m else ''}"
        result[(setting, len(folders))] = {
            "path": str(path), "cached": True, "epochs": epochs, "steps": steps
        }  # fmt: skip
        configs = [config(c) for c in (PRETRAIN_CONFIGS[setting], *shared)]
        binds = list(bindings)
        if a2m:
            configs.append(config("shared/audio2motion"))
            binds += run_bindings(audio2motion=a2m)
        key = bundle_key(configs, binds, folders)
        why = bundle_refusal(path, key)
        if why is not None:
            if why != "no bundle":
                print(f"pre-training {path.name} again (the cached bundle is replaced): {why}")
                remove(path)
                remove(Path(f"{path}.work"))
                Path(f"{path}.json").unlink(missing_ok=True)
            result[(setting, len(folders))]["cached"] = False
            args = (setting, [str(f) for f in folders], binds, steps, str(path), configs, key)
            tasks.append((f"pre-training {path.name}", _pretrain_worker, args))
    run_pool(tasks, parallel)
    for info in result.values():
        summary = Path(f"{info['path']}.json")
        if summary.exists():
            info.update(json.loads(summary.read_text()))
    return result


def steps_to_psnr(workspace: str, threshold: float, stage: str = "head") -> int | None:
    """First logged step whose training PSNR, averaged over it and the two logs before, is at
    least ``threshold`` dB (None when never)."""
    log = Path(workspace) / "logs" / f"{stage}.csv"
    if not log.is_file():
        return None
    with open(log) as f:
        recs = [(int(r["step"]), float(r["psnr"])) for r in csv.DictReader(f) if r.get("psnr")]
    for i in range(len(recs)):
        window = [p for _, p in recs[max(0, i - 2) : i + 1]]
        if sum(window) / len(window) >= threshold:
            return recs[i][0]
    return None


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
