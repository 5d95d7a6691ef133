"""Tiny bundles and a hand-built Hugging Face Hub cache for the hub tests (no network).

The cache follows huggingface_hub's layout (read in huggingface_hub.file_download and
utils/_cache_manager.py, and the Hub "local cache" docs):

    <cache>/models--<org>--<name>/
        blobs/<etag>                 file contents; etag = sha256 of the content for LFS files
                                     (model.safetensors), git blob sha1 for plain files
        refs/main                    the 40-hex commit hash, no trailing newline
        snapshots/<commit>/<file>    relative symlink ../../blobs/<etag> (or a copy)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from lokitalk_plugins.idakt.hub import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, save_pretrained

__all__ = [
    "REPO",
    "COMMIT",
    "CONFIG",
    "CARD",
    "make_components",
    "make_bundle",
    "git_blob_sha1",
    "prepare_hub_cache",
]

REPO = "lokitalk-test/idakt-tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG = {
    "backbone": "er_nerf",
    "idakt": {"in_features": 4, "out_features": 3},
    "shared": {"hidden": 5, "layers": 2},
}
CARD = {"identities": 12, "steps": 2000, "backbone": "er_nerf"}


def make_components(seed: int = 0) -> dict[str, nn.Module]:
    """Two small components: an nn.Linear and an nn.Sequential (with a BatchNorm buffer)."""
    torch.manual_seed(seed)
    shared = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    shared[1].running_mean.uniform_(-1.0, 1.0)
    return {"idakt": nn.Linear(4, 3), "shared": shared}


def make_bundle(
    directory: Path, seed: int = 0, overwrite: bool = False
) -> tuple[Path, dict[str, nn.Module]]:
    """Save ``make_components(seed)`` with CONFIG and CARD; returns (folder, components)."""
    components = make_components(seed)
    folder = save_pretrained(directory, components, CONFIG, card=CARD, overwrite=overwrite)
    return folder, components


def git_blob_sha1(data: bytes) -> str:
    """Git's object id of a blob: sha1 over ``b"blob <size>\\0" + data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def prepare_hub_cache(
    cache: Path,
    folder: Path,
    repo_id: str = REPO,
    commit: str = COMMIT,
    files: tuple[str, ...] = (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME),
    symlinks: bool = True,
) -> Path:
    """Place ``files`` of the bundle ``folder`` in ``cache`` as if downloaded from ``repo_id``
    at ``commit`` (refs/main -> commit); returns the snapshot folder."""
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = storage / "snapshots" / commit
    for sub in (storage / "blobs", storage / "refs", snapshot):
        sub.mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(commit)
    for name in files:
        data = (folder / name).read_bytes()
        lfs = name.endswith(".safetensors")
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
        blob = storage / "blobs" / etag
        blob.write_bytes(data)
        if symlinks:
            os.symlink(os.path.join("..", "..", "blobs", etag), snapshot / name)
        else:
            shutil.copyfile(blob, snapshot / name)
    return snapshot
