"""The ``lokitalk`` command line: one subcommand per job, each with ``--help``.

Each subcommand lives in its own module, imported only when that subcommand runs, so
``lokitalk --help`` stays fast and a heavy import never slows an unrelated command. A command
module provides ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "main", "build_parser"]

# name -> module implementing it
COMMANDS: dict[str, str] = {
    "synth": "lokitalk_plugins.data.synth_command",
    "validate": "lokitalk_plugins.data.validate_command",
    "features": "lokitalk_plugins.signals.features_command",
    "audio2motion": "lokitalk_plugins.signals.audio2motion_command",
    "audio2exp": "lokitalk_plugins.commands.audio2exp",
    "lipsync": "lokitalk_plugins.signals.lipsync_command",
    "train": "lokitalk_plugins.commands.train",
    "pretrain": "lokitalk_plugins.commands.pretrain",
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
