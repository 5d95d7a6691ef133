"""Fixtures: one studio folder per session, and copies of it broken one way each.

The folder comes from the synthetic studio (``write_identity``); when the studio cannot be
imported, a small valid folder built with numpy + Pillow stands in (same layout). Helpers the
tests import live in ``folder_helpers`` (a name no other test folder uses).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from folder_helpers import write_minimal_folder


def _studio_or_minimal(out: Path) -> str:
    try:
        from lokitalk_plugins.data.studio import write_identity
    except ImportError:
        write_minimal_folder(out)
        return "minimal"
    write_identity(out, identity=0, seconds=1.0, size=32, seed=0)
    return "studio"


@pytest.fixture(scope="session")
def studio_folder(tmp_path_factory) -> Path:
    """A complete valid folder, written once per session. Never modify it: copy it."""
    out = tmp_path_factory.mktemp("studio") / "id0"
    _studio_or_minimal(out)
    return out


@pytest.fixture
def folder_copy(studio_folder, tmp_path) -> Path:
    """A fresh, writable copy of the session folder."""
    dst = tmp_path / "copy"
    shutil.copytree(studio_folder, dst)
    return dst
