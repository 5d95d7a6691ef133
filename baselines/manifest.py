"""The originals' checkpoint manifests (state_dict keys and shapes), shipped with the package.

Copied from the facts in BACKBONES.md: ``{name}_k29.json`` (head stage) and
``{name}_k29_torso.json`` (torso stage), DeepSpeech features, default options.
"""

from __future__ import annotations

import json
from importlib import resources

from lokitalk_plugins.train.weights import OCCUPANCY_BUFFERS

__all__ = ["load_manifest", "OCCUPANCY_KEYS", "compare_with_manifest"]

# ray-marching state; an original checkpoint's values are recomputed, so they may be absent
OCCUPANCY_KEYS = frozenset(OCCUPANCY_BUFFERS)


def load_manifest(name: str) -> dict:
    """name: e.g. 'er_nerf_k29' or 'rad_nerf_k29_torso' -> the manifest dict."""
    text = resources.files("lokitalk_plugins.baselines").joinpath(f"manifests/{name}.json")
    return json.loads(text.read_text())


def compare_with_manifest(state_dict: dict, manifest: dict) -> list[str]:
    """Every difference between a state_dict and a manifest, as readable lines."""
    want = {k: list(v) for k, v in manifest["state_dict"].items()}
    have = {k: list(v.shape) for k, v in state_dict.items()}
    problems = [f"missing {k} {want[k]}" for k in sorted(want.keys() - have.keys())]
    problems += [f"unexpected {k} {have[k]}" for k in sorted(have.keys() - want.keys())]
    problems += [
        f"shape of {k}: {have[k]}, the original has {want[k]}"
        for k in sorted(want.keys() & have.keys())
        if have[k] != want[k]
    ]
    return problems
