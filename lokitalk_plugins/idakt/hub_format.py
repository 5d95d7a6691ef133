"""The on-disk format of an ID-AKT bundle: file names, version, packing and checked reading.

``model.safetensors`` holds every component's state dict under ``"<component>.<param>"``;
``config.json`` holds ``{"format", "format_version", "library_version", "components", "config",
"weights_sha256"}``. Reading never runs code from the bundle: the weights are safetensors (no
pickle), their SHA-256 must match the one in ``config.json`` and every tensor must be finite.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from lokitalk_plugins import __version__
from lokitalk_plugins.idakt.hub_cache import (
    BundleVersionError,
    ComponentMismatchError,
    CorruptBundleError,
    HubBundleError,
)

__all__ = [
    "BUNDLE_FORMAT", "BUNDLE_VERSION", "WEIGHTS_NAME", "CONFIG_NAME", "CARD_NAME",
    "json_ready", "flatten_components", "read_config", "read_weights", "file_sha256",
    "existing_bundle_files", "set_default_mode",
]  # fmt: skip

BUNDLE_FORMAT = "lokitalk-idakt"
BUNDLE_VERSION = 1
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"
BUNDLE_FILES = (WEIGHTS_NAME, CARD_NAME, CONFIG_NAME)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def existing_bundle_files(directory: Path, overwrite: bool = False) -> list[str]:
    """Names of the bundle files already in ``directory``; with ``overwrite=False`` a
    non-empty answer raises HubBundleError (nobody's README.md or config.json is replaced
    without asking). Call it before a long job that ends by saving a bundle there."""
    directory = Path(directory).expanduser()
    if directory.exists() and not directory.is_dir():
        raise HubBundleError(f"{directory} is a file; pass a folder path to save the bundle in.")
    found = [n for n in BUNDLE_FILES if (directory / n).exists()] if directory.is_dir() else []
    if found and not overwrite:
        raise HubBundleError(
            f"{directory} already holds {', '.join(found)}: save the bundle in a new folder, "
            "or pass overwrite=True (lokitalk pretrain --overwrite) to replace those files."
        )
    return found


def set_default_mode(path: Path) -> None:
    """Give a written file the permissions of a normal new file (0666 minus the umask:
    0644 by default), not the 0600 of a temporary file."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def json_ready(value: Mapping, what: str) -> dict:
    """A plain-dict copy of ``value`` that survives a JSON round trip."""
    try:
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise HubBundleError(
            f"The bundle {what} is not JSON-able ({err}). Keep only str, int, float, bool, "
            f"None, lists and dicts in {what}; store tensors as components instead."
        ) from err


def flatten_components(components: Mapping) -> tuple[dict[str, Tensor], dict[str, tuple[int, int]]]:
    """``{"<component>.<param>": CPU contiguous tensor}`` with no two tensors sharing storage."""
    if not components:
        raise HubBundleError("Nothing to save: pass at least one component (name -> module).")
    flat: dict[str, Tensor] = {}
    summary: dict[str, tuple[int, int]] = {}
    seen: set[int] = set()
    for name, item in components.items():
        if not isinstance(name, str) or not name or "." in name:
            raise HubBundleError(f"Component name {name!r} must be a non-empty str without '.'.")
        state = item.state_dict() if isinstance(item, nn.Module) else item
        if not isinstance(state, Mapping) or not state:
            raise HubBundleError(
                f"Component '{name}' has no tensors to save; pass an nn.Module with parameters "
                "or a non-empty state dict (put parameter-free settings in config)."
            )
        for key, value in state.items():
            if not isinstance(value, Tensor):
                raise HubBundleError(
                    f"'{name}.{key}' is a {type(value).__name__}, not a tensor: a bundle's "
                    "weights hold tensors only; put other values in config."
                )
            t = value.detach().cpu()
            if t.is_floating_point() and not torch.isfinite(t).all():
                raise HubBundleError(
                    f"'{name}.{key}' holds NaN or infinite values: a bundle keeps finite "
                    "weights only; save the last good checkpoint's weights instead."
                )
            storage = t.untyped_storage()
            whole = storage.nbytes() == t.numel() * t.element_size() and t.is_contiguous()
            if not whole or storage.data_ptr() in seen:
                t = t.clone(memory_format=torch.contiguous_format)  # own, unshared storage
            seen.add(t.untyped_storage().data_ptr())
            flat[f"{name}.{key}"] = t
        summary[name] = (len(state), sum(v.numel() for v in state.values()))
    return flat, summary


def read_config(path: Path, fix: str) -> dict:
    """Parse and check ``config.json`` (format, version, fields)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CorruptBundleError(f"{path} is corrupt: not valid JSON ({err}). {fix}") from err
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != BUNDLE_FORMAT:
        raise BundleVersionError(
            f"{path} is not a {BUNDLE_FORMAT} bundle config: found format {found!r}, expected "
            f"{BUNDLE_FORMAT!r}. Re-export the bundle with save_pretrained from lokitalk-plugins."
        )
    version, writer = meta.get("format_version"), meta.get("library_version", "unknown")
    if version != BUNDLE_VERSION:
        raise BundleVersionError(
            f"{path} has bundle format_version {version!r} (written by lokitalk-plugins {writer})"
            f", expected {BUNDLE_VERSION} (this is lokitalk-plugins {__version__}). The bundle "
            "must be re-exported with save_pretrained from the matching lokitalk-plugins "
            f"version, or read with lokitalk-plugins {writer}."
        )
    names, config = meta.get("components"), meta.get("config")
    digest = meta.get("weights_sha256")
    if not (isinstance(digest, str) and len(digest) == 64):
        raise CorruptBundleError(
            f"{path} records no valid 'weights_sha256', so {WEIGHTS_NAME} cannot be checked. {fix}"
        )
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CorruptBundleError(f"{path}: 'components' is not a list of names. {fix}")
    if not isinstance(config, dict):
        raise CorruptBundleError(f"{path}: 'config' is not a JSON object. {fix}")
    return meta


def read_weights(
    path: Path, names: list[str], fix: str, sha256: str | None = None
) -> dict[str, dict[str, Tensor]]:
    """Load ``model.safetensors`` and split it per component, checking against ``names``:
    its SHA-256 against ``sha256`` (when given), then that every tensor is finite."""
    if sha256 is not None and (found := file_sha256(path)) != sha256:
        raise CorruptBundleError(
            f"The weights file {path} is corrupt: its SHA-256 {found[:16]}... differs from "
            f"the {sha256[:16]}... recorded in {CONFIG_NAME} (changed bytes). {fix}"
        )
    try:
        flat = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CorruptBundleError(f"The weights file {path} is corrupt ({err}). {fix}") from err
    bad = [k for k, v in flat.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CorruptBundleError(
            f"The weights file {path} holds NaN or infinite values in {len(bad)} tensor(s) "
            f"({', '.join(sorted(bad)[:3])}{', ...' if len(bad) > 3 else ''}). {fix}"
        )
    groups: dict[str, dict[str, Tensor]] = {}
    for key, value in flat.items():
        name, _, param = key.partition(".")
        groups.setdefault(name if param else key, {})[param] = value
    if unknown := sorted(set(groups) - set(names)):
        raise ComponentMismatchError(
            f"{path} holds weights for unknown component(s) {unknown}, not listed in "
            f"{CONFIG_NAME} (components {names}): the two files come from different bundles. "
            "Re-export the bundle with save_pretrained."
        )
    if missing := sorted(set(names) - set(groups)):
        raise ComponentMismatchError(
            f"{CONFIG_NAME} lists component(s) {missing} that have no weights in {path}: the two "
            "files come from different bundles. Re-export the bundle with save_pretrained."
        )
    return groups
