"""The ``lokitalk`` command line: one subcommand per job, each with ``--help``.

Each subcommand lives in its own module, imported only when that subcommand runs, so
``lokitalk --help`` stays fast and a heavy import never slows an unrelated command. A command
module provides ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``.

A user error (``lokitalk_plugins.errors.UserError``, or an ``OSError`` about a file the user
named) ends in ``lokitalk <command>: error: <message>`` on stderr and exit code 2; ``--debug``
(before or after the command) shows the traceback instead. Ctrl-C exits with code 130.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

__all__ = ["COMMANDS", "main", "build_parser", "format_error"]

# name -> module implementing it
COMMANDS: dict[str, str] = {
    "synth": "lokitalk_plugins.data.synth_command",
    "validate": "lokitalk_plugins.data.validate_command",
    "features": "lokitalk_plugins.commands.features",
    "audio2motion": "lokitalk_plugins.commands.audio2motion",
    "audio2exp": "lokitalk_plugins.commands.audio2exp",
    "lipsync": "lokitalk_plugins.commands.lipsync",
    "train": "lokitalk_plugins.commands.train",
    "pretrain": "lokitalk_plugins.commands.pretrain",
    "gdrf-pretrain": "lokitalk_plugins.commands.gdrf",
    "eval": "lokitalk_plugins.commands.evaluate",
    "render": "lokitalk_plugins.commands.render",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lokitalk",
        description="lokitalk-plugins: synthetic studio, data validation, training and rendering "
        "for NeRF talking heads.",
    )
    from lokitalk_plugins import __version__

    parser.add_argument("--version", action="version", version=f"lokitalk-plugins {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(cmd)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=_DEBUG_HELP)  # fmt: skip
        cmd.set_defaults(_run=module.run)
    return parser


_DEBUG_HELP = "show the full traceback of an error (by default: one message naming the cause)"


def format_error(command: str, err: BaseException) -> str:
    """``lokitalk <command>: error: <message>`` for a user error (an OSError without a message
    of its own is spelled out with the file it names)."""
    text = str(err).strip()
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
        if err.filename2 is not None:
            text += f" ({err.filename2})"
    return f"lokitalk {command}: error: {_without_gin_calls(text) or type(err).__name__}"


_GIN_CALL = re.compile(r"^\s*In call to configurable '([^']+)'.*?(?: in scope '([^']+)')?$")


def _without_gin_calls(text: str) -> str:
    """gin appends one "In call to configurable ..." line per enclosing call; keep the
    innermost (the option's owner) as a short suffix of the first line."""
    lines, owner = [], ""
    for line in text.splitlines():
        if match := _GIN_CALL.match(line):
            if not owner:
                scope = f", scope {match.group(2)}" if match.group(2) else ""
                owner = f" (in {match.group(1)}{scope})"
            continue
        lines.append(line)
    if lines:
        lines[0] += owner
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from lokitalk_plugins.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    from lokitalk_plugins.train.allocator import tune_malloc

    tune_malloc()  # large render batches without page faults on fresh blocks (a speed only)
    try:
        return int(args._run(args) or 0)
    except (UserError, OSError) as err:
        if args.debug:
            raise
        print(format_error(args.command, err), file=sys.stderr)
        print("(run again with --debug for the traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"lokitalk {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
