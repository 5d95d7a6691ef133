"""The README's GDRF examples run as written (fewer steps), on small studio folders."""

from __future__ import annotations

import shlex
from pathlib import Path

import gin

from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import write_identity

README = Path(__file__).resolve().parents[2] / "README.md"
SHORT = ["--bind", "TalkingHeadSystem.num_rays = 64", "--bind", "GDRF.lstm_hidden = 16"]


def _block(marker: str) -> str:
    after = README.read_text().split(f"<!-- {marker} -->\n", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def test_readme_gdrf_examples_run(tmp_path, monkeypatch):
    for i in (1, 2):
        write_identity(tmp_path / f"runs/aux/id00{i}", identity=i, seconds=1.0, size=32)
    write_identity(tmp_path / "runs/studio/id000", identity=0, seconds=1.0, size=32)
    monkeypatch.chdir(tmp_path)
    lines = _block("gdrf-bash").replace("\\\n", " ").splitlines()
    assert [ln.split()[1] for ln in lines] == ["gdrf-pretrain", "train"]
    steps = ["--bind", "head/Trainer.steps = 3", "--bind", "Trainer.val_every = 3"]
    extra = {"gdrf-pretrain": ["--steps", "3", "--quiet"], "train": steps}
    for line in lines:
        argv = shlex.split(line)[1:]
        try:
            assert main(argv + SHORT + extra[argv[0]]) == 0
        finally:
            gin.clear_config()
    assert (tmp_path / "runs/gdrf_base/config.json").is_file()
    assert (tmp_path / "runs/gdrf/checkpoints/latest.pt").is_file()
    code = _block("gdrf-python").replace("num_references=4,", "num_references=4, lstm_hidden=16,")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["z"].shape == (1, 64) and scope["rgb"].shape == (32, 32, 3)
