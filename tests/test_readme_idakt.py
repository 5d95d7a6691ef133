"""The README's example of the whole ID-AKT on a bare backbone (Table 4) runs as written and
prints the layers it says."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    m = re.search(r"<!-- idakt-bare-example -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert m, "README.md lost its <!-- idakt-bare-example --> python block"
    return m.group(1)


def test_readme_idakt_bare_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_example(), "README.md", "exec"), scope)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["['aud_ch_att_net', 'eye_att_net']", "[]"]
    assert (tmp_path / "er_nerf_bundle" / "model.safetensors").is_file()
    assert type(scope["fine"].idakt).__name__ == "FrozenIdentity"
    assert set(scope["fine"].idakt.hyper) == {"aud_ch_att_net", "eye_att_net"}
