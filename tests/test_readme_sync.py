"""The README's sync-measure example runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    m = re.search(r"<!-- sync-example -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert m, "README.md lost its <!-- sync-example --> python block"
    return m.group(1)


def test_readme_sync_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_example(), "README.md", "exec"), scope)
    assert capsys.readouterr().out.split() == ["0", "3"]
    assert scope["still"] == 0.0
