"""The folder a user names (``--data``, a pre-training identity): checked before it is used.

>>> root = check_folder("data/obama")      # the resolved folder, or a FolderReadError
"""

from __future__ import annotations

import errno
from pathlib import Path

from lokitalk_plugins.data.problems import FolderReadError

__all__ = ["folder_fault", "check_folder"]


def folder_fault(path: str | Path) -> str:
    """Why ``path`` cannot be used as a folder ("" when it is one): a symbolic link loop,
    a missing path, or a file; the text names the path and what to do."""
    path = Path(path)
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop so
        return f"{path}: a symbolic link loop (it points back to itself); pass the real folder"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"{path}: a symbolic link loop (it points back to itself); pass the real folder"
        return f"{path}: folder not found ({err.strerror}); pass a preprocessed folder"
    if not real.is_dir():
        return f"{path} is a file, not a folder; pass the preprocessed folder that holds it"
    return ""


def check_folder(path: str | Path) -> Path:
    """``path`` resolved, or FolderReadError (a UserError) saying why it is not a folder."""
    if fault := folder_fault(path):
        raise FolderReadError(fault)
    return Path(path).resolve()
