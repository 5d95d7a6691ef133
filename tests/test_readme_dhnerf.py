"""The README's Disentangling Head NeRF example runs as written, on a small studio folder."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text()
    m = re.search(r"<!-- dhnerf-example -->\n```python\n(.*?)```", text, re.S)
    assert m, "README.md lost its <!-- dhnerf-example --> python block"
    return m.group(1)


def test_readme_dhnerf_example_runs(tmp_path, monkeypatch, capsys):
    from lokitalk_plugins.data.studio import write_identity

    write_identity(tmp_path / "runs/studio/id000", seconds=2.0, size=32, seed=0)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_example(), "README.md", "exec"), scope)
    assert scope["loss"].ndim == 0 and scope["loss"].item() > 0
    assert scope["rgb"].shape == (1, 3, 32, 32)
    assert scope["f_a"].shape == (1, 32)
    torch.testing.assert_close(scope["f_a"].norm(dim=-1), torch.ones(1))
    assert scope["summary"]["loss_last"] < scope["summary"]["loss_first"]
    assert "top1" in capsys.readouterr().out
    assert scope["model"].adapter.name == "dhnerf" and scope["code"][0, -1] == 0
