"""Checkpoints: written atomically, read with ``weights_only=True`` only.

Layout of a workspace::

    checkpoints/<stage>_step{N:07d}.pt   one per save, the oldest pruned (keep_checkpoints)
    checkpoints/latest.pt                the newest checkpoint (a hard link, else a copy)
    checkpoints/operative_config.gin     gin's operative config of the run that wrote them

A file is first written to a temporary name in the same folder, flushed and fsynced, then
moved over its final name with ``os.replace`` (atomic on POSIX and Windows); ``latest.pt``
is switched the same way only after the new checkpoint is complete. A crash at any moment
therefore leaves ``latest.pt`` pointing at a complete checkpoint; stray temporary files of a
killed writer are removed by ``remove_stale_temp_files``. A state holding a NaN or infinite
tensor is never written (``NonFiniteError``): ``latest.pt`` and the step files stay as they
were, so the last good checkpoint is kept until a newer good one exists. A write that fails
(a full disk, a read-only folder) is a ``CheckpointError`` naming the file.

Loading never unpickles arbitrary objects: ``torch.load(weights_only=True)`` accepts tensors,
plain containers, numbers and strings, and a file needing anything else is refused with
``CheckpointError`` (its code was never run).
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from lokitalk_plugins.errors import UserError

__all__ = [
    "CheckpointError",
    "CheckpointWriteError",
    "NonFiniteError",
    "nonfinite_tensors",
    "LATEST",
    "OPERATIVE_CONFIG",
    "checkpoint_path",
    "atomic_save",
    "atomic_write_text",
    "save_checkpoint",
    "load_checkpoint",
    "list_checkpoints",
    "remove_stale_temp_files",
]

LATEST = "latest.pt"
OPERATIVE_CONFIG = "operative_config.gin"
_TMP_MARK = ".tmp-"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be (safely) loaded; the message says why and names the file."""


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint that could not be written (full disk, read-only folder); names the file."""


class NonFiniteError(CheckpointError, FloatingPointError):
    """A state with NaN or infinite tensors, refused before anything was written."""


def nonfinite_tensors(obj: Any, prefix: str = "") -> list[str]:
    """Dotted names of the floating-point tensors in ``obj`` (nested dicts, lists, tuples)
    holding a NaN or an infinity."""
    if isinstance(obj, torch.Tensor):
        bad = obj.is_floating_point() or obj.is_complex()
        return [prefix or "<tensor>"] if bad and not bool(torch.isfinite(obj).all()) else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(
        obj, (list, tuple)) else ()  # fmt: skip
    found = []
    for key, value in items:
        found += nonfinite_tensors(value, f"{prefix}.{key}" if prefix else str(key))
    return found


def checkpoint_path(folder: str | Path, stage: str, step: int) -> Path:
    return Path(folder) / f"{stage}_step{int(step):07d}.pt"


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _commit(tmp: Path, path: Path) -> None:
    """fsync ``tmp`` and move it over ``path`` atomically."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """torch.save ``obj`` to ``path`` so that ``path`` is either the old file or the complete
    new one, never a partial write; the temporary file is removed on any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        torch.save(obj, tmp)
        _commit(tmp, path)
    except (OSError, RuntimeError) as e:  # full disk: torch says "enforce fail ... pos"
        tmp.unlink(missing_ok=True)
        raise CheckpointWriteError(
            f"could not write {path} ({type(e).__name__}: {str(e).splitlines()[0][:160]}): "
            "is the disk full or the folder read-only? The previous file there, if any, is "
            "intact; free some space and resume"
        ) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (same guarantee as ``atomic_save``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _point_latest(target: Path) -> None:
    """Make ``latest.pt`` the complete file ``target`` (hard link, else copy), atomically."""
    latest = target.parent / LATEST
    tmp = _tmp_name(latest)
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(target, tmp)
        except OSError:
            shutil.copyfile(target, tmp)
        _commit(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def list_checkpoints(folder: str | Path, stage: str) -> list[tuple[int, Path]]:
    """(step, path) of the stage's step checkpoints in ``folder``, oldest first."""
    pattern = re.compile(rf"^{re.escape(stage)}_step(\d+)\.pt$")
    found = []
    for p in Path(folder).glob(f"{stage}_step*.pt"):
        m = pattern.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def save_checkpoint(
    state: dict,
    folder: str | Path,
    stage: str,
    step: int,
    keep: int | None = None,
    operative_config: str | None = None,
) -> Path:
    """Write ``state`` as ``<stage>_step{N}.pt``, then switch ``latest.pt`` to it, write the
    operative config beside it, and prune all but the ``keep`` newest of this stage.

    Raises NonFiniteError (writing nothing, pruning nothing) when a tensor of ``state`` is
    NaN or infinite."""
    folder = Path(folder)
    bad = nonfinite_tensors(state)
    if bad:
        kept = list_checkpoints(folder, stage)
        last = f"step {kept[-1][0]}" if kept else "no earlier step"
        raise NonFiniteError(
            f"{stage} step {step}: {len(bad)} tensors are NaN or infinite (e.g. {bad[:4]}); "
            f"the checkpoint was not written and {folder / LATEST} still holds the last good "
            f"one ({last}). Lower the learning rate or check the data for NaN, then resume"
        )
    path = atomic_save(state, checkpoint_path(folder, stage, step))
    _point_latest(path)
    if operative_config is not None:
        atomic_write_text(operative_config, folder / OPERATIVE_CONFIG)
    if keep is not None:
        if keep < 1:
            raise ValueError(f"keep_checkpoints must be >= 1 or None, got {keep}")
        for _, old in list_checkpoints(folder, stage)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete temporary files a killed writer left in ``folder``; returns what was removed."""
    removed = []
    for p in Path(folder).glob(f".*{_TMP_MARK}*"):
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict:
    """``torch.load(path, weights_only=True)``; refuses pickled code with ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f"it needs {found.group(1)}" if found else "weights-only load failed"
        raise CheckpointError(
            f"{path} holds arbitrary pickled objects, not only tensors and plain containers; "
            "it was refused and nothing in it was executed. Load only files you trust, or "
            "re-save its tensors (e.g. its state_dict) on the machine that wrote it. "
            f"({what})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): {e}"
        ) from e
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, found {type(obj).__name__}")
    return obj
