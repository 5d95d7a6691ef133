"""What the folder validator reports: one ``Problem`` per fault, and the error listing them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lokitalk_plugins.errors import UserError

__all__ = [
    "Problem",
    "FolderValidationError",
    "FolderReadError",
    "file_problem",
    "compact_problems",
]


@dataclass(frozen=True)
class Problem:
    """One fault of a folder.

    path: the file (or folder) at fault; kind: a short category ("missing_file",
    "bad_json", "missing_key", "bad_value", "bad_shape", "unreadable", "audio_layout",
    "audio_rows", "au_column", "au_frames", "parsing_colours", "image_size", "no_alpha",
    "more"); found / expected: what was there and what should be; message: one readable line
    that names the file.
    """

    path: str
    kind: str
    found: str
    expected: str
    message: str

    def __str__(self) -> str:
        return self.message


def file_problem(path, kind: str, found: str, expected: str, message: str) -> Problem:
    """A Problem of the file ``path`` whose message starts with the path."""
    return Problem(str(path), kind, found, expected, f"{path}: {message}")


class FolderValidationError(UserError, ValueError):
    """A folder failed validation; ``problems`` holds every fault found (all at once)."""

    def __init__(self, root, problems: list[Problem]):
        self.root = str(root)
        self.problems = list(problems)
        lines = [f"{self.root}: {len(self.problems)} problem(s) in the folder:"]
        lines += [f"  - {p.message}" for p in self.problems]
        super().__init__("\n".join(lines))


class FolderReadError(UserError, ValueError):
    """A file of a folder that cannot be read (e.g. an image truncated after validation);
    the message names the file."""


def compact_problems(problems: list[Problem], limit: int = 5) -> list[Problem]:
    """Keep at most ``limit`` problems of each (kind, folder); summarise the rest in one.

    A folder with 500 missing files then reads as 5 named files and "... and 495 more".
    """
    groups: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    order: list[tuple[str, str]] = []
    for p in problems:
        key = (p.kind, str(Path(p.path).parent))
        if key not in groups:
            order.append(key)
        groups[key].append(p)
    out: list[Problem] = []
    for key in order:
        group = groups[key]
        out += group[:limit]
        rest = group[limit:]
        if rest:
            names = ", ".join(Path(p.path).name for p in rest[:10])
            names += ", ..." if len(rest) > 10 else ""
            out.append(
                Problem(
                    path=key[1],
                    kind="more",
                    found=f"{len(rest)} more files with the same problem ({key[0]})",
                    expected=group[0].expected,
                    message=f"{key[1]}: and {len(rest)} more files like the above "
                    f"({key[0]}): {names}",
                )
            )
    return out
