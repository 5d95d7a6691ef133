"""A training workspace: what ``lokitalk train`` writes so ``eval`` and ``render`` can rebuild
the model: ``run.json`` (data folder, config files, bindings, featurizer) beside
``run_configs/`` (a self-contained copy of every config file that is not a packaged one) and
``checkpoints/`` (``latest.pt`` and ``operative_config.gin``).

A workspace may come from someone else: loading it runs none of their code. ``run.json``
may name only packaged configs and the copies in ``run_configs/``; those files and the
bindings are checked before gin reads them (no ``import``, no configurable the package did not
register: see ``train/config_guard.py``); checkpoints load with ``weights_only=True``, and
weights with a NaN or infinity are refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from .workspace_configs import (
    RUN_FILE,
    SNAPSHOT,
    checked_run_configs,
    config_snapshot,
    saved_configs,
)

__all__ = [
    "RUN_FILE",
    "plan_run",
    "recorded_featurizer",
    "save_run",
    "write_run",
    "read_run",
    "studio_featurizer_matches",
    "featurizer_of",
    "load_system",
    "load_dataset",
]


def studio_featurizer_matches(folder: Path, audio_file: str, seconds: float = 2.0) -> bool:
    """True when ``audio_file`` holds the studio's log-mel windows of ``aud.wav`` (checked on
    the first ``seconds``), so a wav can be featurized the same way at render time."""
    import numpy as np

    from lokitalk_plugins.signals.features import load_wav, logmel_windows

    feats_path, wav_path = folder / audio_file, folder / "aud.wav"
    if not (feats_path.is_file() and wav_path.is_file()):
        return False
    feats = np.load(feats_path, mmap_mode="r")
    if feats.ndim != 3 or feats.shape[1] != 16:
        return False
    wav, sr = load_wav(wav_path)
    wav = wav[: int((seconds + 1.0) * sr)]  # only what is compared (+1 s of context)
    full = logmel_windows(wav, sr=sr, n_mels=feats.shape[2])
    n = min(len(full), len(feats), int(seconds * 25))
    # windows near the end of a cut clip differ (padding), so compare the first n - 8 only
    n = max(n - 8, 1)
    return bool(np.allclose(full[:n], feats[:n], atol=1e-4))


def featurizer_of(folder: Path, audio_file: str, given: str | None = None) -> str | None:
    """The extractor spec (``lokitalk_plugins.signals.extractors``) that made a folder's
    ``audio_file``: ``given`` (the user's word, checked against the file's layout), else the
    studio's log-mel when they match ``aud.wav``, else what the originals' file name says
    (aud_hu.npy, aud_eo.npy, aud_ds.npy), else None (unknown)."""
    from lokitalk_plugins.signals.extractors import check_spec_fits, resolve_spec, spec_from_file

    path = Path(folder) / audio_file
    if given is not None:
        check_spec_fits(given, path)
        return resolve_spec(given)
    if studio_featurizer_matches(Path(folder), audio_file):
        return "studio"
    return spec_from_file(path)


def recorded_featurizer(workspace: Path) -> str | None:
    """The featurizer run.json of ``workspace`` recorded (None: no run.json, none recorded)."""
    if not (Path(workspace) / RUN_FILE).is_file():
        return None
    return read_run(workspace).get("featurizer")


def plan_run(
    workspace: Path, data: Path, configs, bindings, audio_file: str, featurizer=None,
    recorded: str | None = None,
) -> tuple[dict, dict[str, str]]:  # fmt: skip
    """(run.json's content, {name: text} of the config copies), reading the config files and
    the data folder but writing nothing; featurizer: see ``featurizer_of``; recorded: the
    featurizer a resumed run recorded, kept as it is (None: found by ``featurizer_of``)."""
    workspace = Path(workspace)
    names, copies = saved_configs(workspace, configs)
    run = {
        "data": str(Path(data).resolve()),
        "configs": names,
        SNAPSHOT: config_snapshot(configs),
        "bindings": list(bindings),
        "audio_file": audio_file,
        "featurizer": recorded or featurizer_of(Path(data), audio_file, featurizer),
    }
    return run, copies


def save_run(workspace: Path, run: dict, copies: dict[str, str]) -> dict:
    """Write what ``plan_run`` returned into ``workspace``; returns ``run``."""
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    for name, text in copies.items():
        (workspace / name).parent.mkdir(exist_ok=True)
        (workspace / name).write_text(text, encoding="utf-8")
    (workspace / RUN_FILE).write_text(json.dumps(run, indent=1))
    return run


def write_run(
    workspace: Path, data: Path, configs, bindings, audio_file: str, featurizer=None
) -> dict:
    """Write run.json (and the copies of non-packaged configs) into ``workspace``."""
    planned = plan_run(workspace, data, configs, bindings, audio_file, featurizer)
    return save_run(workspace, *planned)


def read_run(workspace: Path) -> dict:
    path = Path(workspace) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: {workspace} is not a workspace written by `lokitalk train`"
        )
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f"{path}: not valid JSON ({e}); re-create it with lokitalk train"
        ) from None
    text_lists = all(
        isinstance(run.get(k), list) and all(isinstance(x, str) for x in run[k])
        for k in ("configs", "bindings")
    ) if isinstance(run, dict) else False  # fmt: skip
    if not text_lists or not isinstance(run.get("data"), str):
        raise ValueError(
            f"{path}: expected {{'data': str, 'configs': [str], 'bindings': [str], ...}}; "
            "re-create it with lokitalk train"
        )
    return run


def load_system(workspace: Path, bindings=()):
    """Rebuild the trained system of a workspace (what its config's ``train.system`` binds)
    with its EMA weights, in the stage it reached. Returns (system, run, stage). Runs no code
    from the workspace; refuses weights that are NaN or infinite (CheckpointError).
    bindings: gin bindings added after the run's own, for settings that change how the
    trained system renders, not its weights (e.g. ``FramePlugins.neural_precision =
    'bfloat16'``); one that changes the weights' shapes fails the strict load."""
    import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
    from lokitalk_plugins.pipeline.configured import configured_system
    from lokitalk_plugins.train import load_checkpoint, load_model_weights, parse_config_files
    from lokitalk_plugins.train.checkpoint import CheckpointError, nonfinite_tensors
    from lokitalk_plugins.train.weights import extract_state_dict

    workspace = Path(workspace)
    run = read_run(workspace)
    ckpt_dir = workspace / "checkpoints"
    latest = ckpt_dir / "latest.pt"
    if not latest.is_file():
        raise FileNotFoundError(f"no checkpoint in {ckpt_dir}: train first (lokitalk train)")
    texts = checked_run_configs(workspace, run)
    parse_config_files(texts=texts, bindings=[*run["bindings"], *bindings])
    state = load_checkpoint(latest)
    bad = nonfinite_tensors(extract_state_dict(state, use_ema=True))
    if bad:
        raise CheckpointError(
            f"{latest}: {len(bad)} weight tensors are NaN or infinite (e.g. {bad[:3]}); "
            "the model diverged: retrain it (a lower learning rate) instead of using it"
        )
    system = configured_system()
    try:
        load_model_weights(system, state, strict=True, use_ema=True)
    except CheckpointError as e:
        if not bindings:
            raise
        raise CheckpointError(
            f"{latest}: the bindings {list(bindings)} change the trained weights ({e}); bind "
            "only settings of how it renders"
        ) from e
    stage = state.get("stage", "head")
    system.set_stage(stage)
    system.eval()
    return system, run, stage


def load_dataset(run: dict, stage: str, split: str, progress: bool = True):
    """The workspace's folder as the gin-configured dataset of ``stage`` (call after
    :func:`load_system`, which parses the run's config). Background: the one the config binds
    (``TalkingHeadFolder.background``, e.g. ``'bc'`` in lokitalk_loss.gin, where the torso is
    in the 3D field), else the originals' convention: the head drawn over the GT torso image
    before the torso stage, over ``bc.jpg`` (the torso is rendered) after."""
    import gin

    with gin.config_scope(stage):
        background = _bound_background(stage) or ("bc" if stage == "torso" else "torso")
        folder = gin.get_configurable("TalkingHeadFolder")
        return folder(Path(run["data"]), split=split, background=background, progress=progress)


def _bound_background(stage: str) -> str | None:
    """``TalkingHeadFolder.background`` as the parsed config binds it for ``stage`` (a stage
    scope first, then unscoped), or None when unbound."""
    import gin

    for name in (f"{stage}/TalkingHeadFolder.background", "TalkingHeadFolder.background"):
        try:
            return str(gin.query_parameter(name))
        except ValueError:
            continue
    return None
