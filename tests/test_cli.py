"""The ``lokitalk`` entry point: every subcommand has --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lokitalk_plugins.cli import COMMANDS, main


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: lokitalk " + name in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_parser_builds_without_importing_torch():
    # ``lokitalk --help`` stays fast: command modules import torch only when they run
    code = (
        "import sys; from lokitalk_plugins.cli import build_parser; build_parser();"
        "print('torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert res.stdout.strip() == "False"


def test_a_command_sets_the_malloc_half_of_the_allocator_settings(monkeypatch, capsys):
    """Every command starts by tune_malloc() (large render batches without page faults on
    fresh blocks); the allocator module imports no torch."""
    from lokitalk_plugins.train import allocator

    calls = []
    monkeypatch.setattr(allocator, "tune_malloc", lambda: calls.append(1) or {})
    assert main(["eval", "--workspace", "/nonexistent/ws"]) == 2
    assert calls == [1] and "/nonexistent/ws" in capsys.readouterr().err
    code = "import sys, lokitalk_plugins.train.allocator; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert res.stdout.strip() == "False"
