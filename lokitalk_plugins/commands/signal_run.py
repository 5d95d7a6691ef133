"""The training commands of signal plug-ins (``lokitalk lipsync``): check the folder, train, report.

Imported only when such a command runs (it imports nothing heavy itself). Errors are
``UserError``s: ``lokitalk`` prints them as one line and exits with code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lokitalk_plugins.errors import UserError

__all__ = ["run_training_command"]


def run_training_command(
    data: str, train: Callable[..., dict], format_summary: Callable[[dict], str], **kwargs
) -> int:
    """``train(Path(data), **kwargs)`` -> print ``format_summary`` and the file written; 0.

    A missing folder raises UserError; a ValueError from ``train`` (a folder or option it
    cannot use) is raised as one, so ``lokitalk`` prints one ``error:`` line and exits 2.
    """
    root = Path(data)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder; give a preprocessed folder (--data)")
    try:
        summary = train(root, **kwargs)
    except ValueError as err:
        if isinstance(err, UserError):
            raise
        raise UserError(str(err)) from err
    print(format_summary(summary))
    print(f"wrote {summary['out']}")
    return 0
