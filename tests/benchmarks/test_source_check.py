"""The benchmarks refuse to run the package's code from two checkouts at once (a report would
record one commit while another's adapters/ and baselines/ ran)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import common  # noqa: E402


def test_one_checkout_passes_and_two_are_named(tmp_path):
    main, other = tmp_path / "main", tmp_path / "wt"
    clone = {"lokitalk_plugins": main / "lokitalk_plugins", "lokitalk_plugins.adapters":
             main / "adapters", "lokitalk_plugins.baselines": main / "baselines"}  # fmt: skip
    assert common.mixed_source(clone) is None
    # a wheel: adapters/ and baselines/ sit inside lokitalk_plugins/
    site = tmp_path / "site-packages" / "lokitalk_plugins"
    wheel = {"lokitalk_plugins": site, "lokitalk_plugins.adapters": site / "adapters",
             "lokitalk_plugins.baselines": site / "baselines"}  # fmt: skip
    assert common.mixed_source(wheel) is None
    # a worktree on PYTHONPATH over an editable install of another clone
    mixed = dict(clone, lokitalk_plugins=other / "lokitalk_plugins")
    msg = common.mixed_source(mixed)
    assert msg is not None and "\n" not in msg
    assert f"lokitalk_plugins from {other.resolve()}" in msg
    assert f"lokitalk_plugins.baselines from {main.resolve()}" in msg
    assert "pip install -e ." in msg
    # links of adapters/ and baselines/ into the worktree's package resolve to the worktree
    (other / "lokitalk_plugins").mkdir(parents=True)
    (other / "baselines").mkdir()
    (other / "adapters").mkdir()
    (other / "lokitalk_plugins" / "baselines").symlink_to("../baselines")
    (other / "lokitalk_plugins" / "adapters").symlink_to("../adapters")
    linked = {"lokitalk_plugins": other / "lokitalk_plugins",
              "lokitalk_plugins.adapters": other / "lokitalk_plugins" / "adapters",
              "lokitalk_plugins.baselines": other / "lokitalk_plugins" / "baselines"}  # fmt: skip
    assert common.mixed_source(linked) is None


def test_this_environment_is_one_checkout():
    assert common.mixed_source(common._package_dirs()) is None
    assert set(common._package_dirs()) == {"lokitalk_plugins", "lokitalk_plugins.adapters",
                                           "lokitalk_plugins.baselines"}  # fmt: skip


def test_the_commit_is_read_once_when_the_harness_is_imported(monkeypatch):
    """A report written after the checkout moved names the code that ran: commit() answers
    what git said when the harness was imported and asks git no more."""
    first = common.commit()
    assert first == "unknown" or len(first.split("+")[0]) == 40

    def no_git(*args, **kwargs):
        raise AssertionError("commit() asked git again")

    monkeypatch.setattr(common.subprocess, "run", no_git)
    assert common.commit() == first
