"""The distribution installs lokitalk_plugins with adapters/ and baselines/ inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*cmd, "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (found,) = out.glob("lokitalk_plugins-*.whl")
    return found


@pytest.mark.slow
def test_wheel_maps_repo_folders_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "lokitalk_plugins/adapters/__init__.py" in names
    assert "lokitalk_plugins/baselines/__init__.py" in names
    assert "lokitalk_plugins/baselines/manifests/er_nerf_k29.json" in names
    # never a top-level "adapters" or "baselines" (another PyPI project owns that name)
    assert not [n for n in names if n.startswith(("adapters/", "baselines/"))]
    entry_points = [n for n in names if n.endswith("entry_points.txt")]
    assert entry_points
    text = zipfile.ZipFile(wheel).read(entry_points[0]).decode()
    assert "lokitalk = lokitalk_plugins.cli:main" in text


@pytest.mark.slow
def test_the_three_packages_import_from_the_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import lokitalk_plugins, lokitalk_plugins.adapters, lokitalk_plugins.baselines;"
        "print(lokitalk_plugins.__file__); print(lokitalk_plugins.adapters.__file__);"
        "print(lokitalk_plugins.baselines.__file__)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(site)], check=True, capture_output=True, text=True
    )
    files = res.stdout.split()
    assert len(files) == 3
    assert all(f.startswith(str(site)) for f in files)
