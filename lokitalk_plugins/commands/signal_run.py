"""The training commands of signal plug-ins (``lokitalk lipsync``): check the folder, train, report.

Imported only when such a command runs (it imports nothing heavy itself).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["run_training_command"]


def run_training_command(
    data: str, train: Callable[..., dict], format_summary: Callable[[dict], str], **kwargs
) -> int:
    """``train(Path(data), **kwargs)`` -> print ``format_summary`` and the file written; 0.

    A missing folder, or a FileNotFoundError, ValueError or FolderValidationError from
    ``train``, prints one ``error: ...`` line and returns 1.
    """
    from lokitalk_plugins.data.problems import FolderValidationError

    root = Path(data)
    if not root.is_dir():
        print(f"error: {root}: no such folder")
        return 1
    try:
        summary = train(root, **kwargs)
    except (FileNotFoundError, ValueError, FolderValidationError) as err:
        print(f"error: {err}")
        return 1
    print(format_summary(summary))
    print(f"wrote {summary['out']}")
    return 0
