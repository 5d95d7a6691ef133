"""The code of docs/adding_a_backbone.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from lokitalk_plugins.adapters import registry

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "adding_a_backbone.md"


def test_the_guide_example_runs(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) == 1
    builtins = {n: registry._REGISTRY[n] for n in ("rad_nerf", "er_nerf")}
    monkeypatch.setattr(registry, "_REGISTRY", builtins)  # as a fresh install; restored after
    namespace: dict = {}
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)
    assert namespace["system"].model is namespace["model"]
