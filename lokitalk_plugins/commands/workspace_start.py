"""Checks before ``lokitalk train`` touches a workspace, so a refused start changes nothing.

- ``check_start``: a workspace holding a trained model or its logs is continued only with
  ``--resume`` and replaced only with ``--overwrite``; ``--resume`` needs a ``latest.pt``.
- ``check_writable``: the workspace (or the folder it will be made in) accepts a file.
- ``check_free_space``: its disk holds two checkpoints of the built model (the new one is
  written beside the old one before it replaces it).
- ``clear_for_overwrite``: what ``--overwrite`` deletes, once every check has passed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lokitalk_plugins.errors import UserError

__all__ = [
    "WorkspaceError",
    "RUN_OUTPUTS",
    "check_start",
    "check_writable",
    "checkpoint_bytes",
    "check_free_space",
    "clear_for_overwrite",
]

# what a run writes into its workspace (and --overwrite deletes)
RUN_OUTPUTS = ("checkpoints", "logs", "val", "run_configs", "run.json", "eval.json", "eval.md")


class WorkspaceError(UserError, ValueError):
    """A workspace that cannot be used as asked; the message names it and what to do."""


def _trained(workspace: Path) -> list[str]:
    """What in ``workspace`` a fresh start would destroy: checkpoints and logs."""
    found = sorted(p.name for p in (workspace / "checkpoints").glob("*.pt"))
    logs = sorted(p.name for p in (workspace / "logs").glob("*.csv"))
    return [f"checkpoints/{n}" for n in found[:3]] + [f"logs/{n}" for n in logs[:3]]


def check_start(workspace: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse (WorkspaceError) a start that would silently destroy or ignore a trained run."""
    workspace = Path(workspace)
    if resume and overwrite:
        raise WorkspaceError("--resume and --overwrite together: choose one")
    if workspace.exists() and not workspace.is_dir():
        raise WorkspaceError(f"--workspace {workspace} is a file, not a folder")
    latest = workspace / "checkpoints" / "latest.pt"
    if resume and not latest.is_file():
        raise WorkspaceError(
            f"--resume: {latest} does not exist, there is nothing to resume (is the "
            "--workspace path right?); drop --resume to start a new run"
        )
    found = _trained(workspace) if workspace.is_dir() else []
    if found and not (resume or overwrite):
        raise WorkspaceError(
            f"{workspace} already holds a trained model or its logs ({', '.join(found)}): "
            "continue it with --resume, or start again with --overwrite (deletes them)"
        )


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (where a new workspace would be created)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_writable(workspace: str | Path) -> None:
    """Create and remove a probe file where the workspace is (or will be made)."""
    workspace = Path(workspace)
    where = _existing(workspace)
    if not where.is_dir():
        raise WorkspaceError(f"--workspace {workspace}: {where} is a file, not a folder")
    probe = where / f".lokitalk-write-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise WorkspaceError(
            f"--workspace {workspace}: cannot write in {where} ({e.strerror or e}); make it "
            "writable or choose another folder"
        ) from None


def checkpoint_bytes(system) -> int:
    """An upper bound of one training checkpoint of ``system``: weights, EMA shadow and two
    Adam moments, each the size of the state_dict."""
    state = system.state_dict()
    return 4 * sum(t.numel() * t.element_size() for t in state.values() if hasattr(t, "numel"))


def check_free_space(workspace: str | Path, system) -> None:
    """Refuse when the workspace's disk cannot hold two checkpoints of ``system``."""
    where = _existing(Path(workspace))
    need = 2 * checkpoint_bytes(system) + 2**20
    free = shutil.disk_usage(where).free
    if free < need:
        raise WorkspaceError(
            f"--workspace {workspace}: {free / 2**20:.1f} MB free on its disk, but training "
            f"needs about {need / 2**20:.1f} MB for its checkpoints; free some space or "
            "choose a folder on another disk"
        )


def clear_for_overwrite(workspace: str | Path) -> list[Path]:
    """Delete what an earlier run wrote into ``workspace`` (RUN_OUTPUTS); returns it."""
    removed = []
    for name in RUN_OUTPUTS:
        path = Path(workspace) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
