"""The one error type of the user's input, which every command turns into a short message.

A ``UserError`` is raised for a file, folder, option or binding the user gave that cannot be
used; its message names that file or option and says what to do. ``lokitalk`` prints it as
``lokitalk <command>: error: <message>`` on stderr and exits with code 2; the traceback is
shown only with ``--debug``. Library callers catch it like any exception: the concrete
errors (``FolderValidationError``, ``HubBundleError``, ``ConfigError``, ...) also derive from
the built-in type they always had (``ValueError``, ``RuntimeError``).
"""

from __future__ import annotations

__all__ = ["UserError", "OptionError"]


class UserError(Exception):
    """Bad user input; the message names the file or option at fault and what to do."""


class OptionError(UserError, ValueError):
    """An option (keyword argument, gin binding, command-line flag) with a value it cannot
    take; the message names the option, the value and the accepted ones."""
