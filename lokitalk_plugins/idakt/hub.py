"""Hugging Face Hub bundles of pre-trained ID-AKT models: save, load, push.

A bundle is a folder (or a Hub model repo) with three files:

- ``model.safetensors``: every component's state dict, keys ``"<component>.<param>"``;
- ``config.json``: ``{"format", "format_version", "library_version", "components", "config",
  "weights_sha256"}`` where ``config`` is the JSON-able dict of constructor kwargs, backbone
  name, ... and ``weights_sha256`` the checksum of ``model.safetensors``;
- ``README.md``: model card with YAML front matter (library_name, tags, training facts).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import HfApi
from safetensors.torch import save_file
from torch import Tensor, nn

from lokitalk_plugins import __version__
from lokitalk_plugins.idakt.hub_cache import (
    BundleNotFoundError,
    BundleVersionError,
    ComponentMismatchError,
    CorruptBundleError,
    HubBundleError,
    MissingBundleFileError,
    download_hint,
    resolve_hub_files,
)
from lokitalk_plugins.idakt.hub_card import REPO_PLACEHOLDER, render_card
from lokitalk_plugins.idakt.hub_format import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    existing_bundle_files,
    file_sha256,
    flatten_components,
    json_ready,
    read_config,
    read_weights,
    set_default_mode,
)

__all__ = [
    "BUNDLE_FORMAT", "BUNDLE_VERSION", "WEIGHTS_NAME", "CONFIG_NAME", "CARD_NAME",
    "Bundle", "save_pretrained", "from_pretrained", "push_to_hub",
    "HubBundleError", "BundleNotFoundError", "MissingBundleFileError", "BundleVersionError",
    "CorruptBundleError", "ComponentMismatchError",
]  # fmt: skip


@dataclass
class Bundle:
    """A loaded bundle: inner config, per-component state dicts (CPU), folder, outer fields."""

    config: dict
    state_dicts: dict[str, dict[str, Tensor]]
    path: Path
    meta: dict = field(default_factory=dict)

    def load_into(self, name: str, module: nn.Module, strict: bool = True):
        """Copy component ``name``'s weights into ``module`` (any device/dtype); returns the
        ``load_state_dict`` result (missing / unexpected keys when ``strict=False``)."""
        if name not in self.state_dicts:
            raise ComponentMismatchError(
                f"The bundle at {self.path} has no component '{name}'; it has "
                f"{sorted(self.state_dicts)}. Pass one of those names."
            )
        try:
            return module.load_state_dict(self.state_dicts[name], strict=strict)
        except RuntimeError as err:
            raise ComponentMismatchError(
                f"The '{name}' weights of the bundle at {self.path} do not fit this "
                f"{type(module).__name__}: {err}\nBuild the module from bundle.config so its "
                "sizes match (or pass strict=False to skip missing and unexpected keys)."
            ) from err


def save_pretrained(
    directory: str | os.PathLike,
    components: Mapping[str, nn.Module | Mapping[str, Tensor]],
    config: Mapping,
    card: Mapping | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle folder (created if absent) and return its resolved path.

    A folder that already holds a ``README.md``, ``config.json`` or ``model.safetensors`` is
    refused (HubBundleError, nothing written) unless ``overwrite=True``; other files in it
    are kept. Files are written in a hidden sibling folder first, with normal permissions
    (0644 under the default umask), then moved in with ``os.replace``: the whole folder at
    once if it is new, file by file (weights, card, config last) otherwise.
    """
    directory = Path(directory).expanduser()
    existing_bundle_files(directory, overwrite)
    flat, summary = flatten_components(components)
    meta = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "library_version": __version__,
        "components": sorted(components),
        "config": json_ready(config, "config"),
    }
    text = render_card(json_ready(card or {}, "card"), summary, meta["config"])
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        save_file(flat, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        meta["weights_sha256"] = file_sha256(tmp / WEIGHTS_NAME)
        (tmp / CARD_NAME).write_text(text, encoding="utf-8")
        (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        for name in (WEIGHTS_NAME, CARD_NAME, CONFIG_NAME):
            set_default_mode(tmp / name)
        if directory.is_dir():
            for name in (WEIGHTS_NAME, CARD_NAME, CONFIG_NAME):
                os.replace(tmp / name, directory / name)
        else:
            os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory.resolve()


def from_pretrained(
    name_or_path: str | os.PathLike,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    token: str | bool | None = None,
) -> Bundle:
    """Load a bundle from a local folder, else from the Hub model repo ``"org/name"``.

    ``revision``, ``cache_dir``, ``local_files_only`` and ``token`` only matter for a repo id;
    ``local_files_only=None`` follows huggingface_hub's offline mode (``HF_HUB_OFFLINE=1``).
    """
    local = Path(name_or_path).expanduser()
    if local.is_file():
        raise MissingBundleFileError(
            f"{local} is a file; pass the folder that holds {CONFIG_NAME} and {WEIGHTS_NAME}."
        )
    if local.is_dir():
        files = {n: local / n for n in (CONFIG_NAME, WEIGHTS_NAME)}
        if missing := [n for n, p in files.items() if not p.is_file()]:
            raise MissingBundleFileError(
                f"The bundle folder {local} has no {' or '.join(missing)}. Pass the folder "
                f"written by save_pretrained (it holds {CONFIG_NAME} and {WEIGHTS_NAME})."
            )
        folder = local.resolve()

        def fix(path: Path) -> str:
            return "Re-export the bundle with save_pretrained."

    else:
        repo = str(name_or_path)
        files = resolve_hub_files(
            repo, (CONFIG_NAME, WEIGHTS_NAME), revision=revision, cache_dir=cache_dir,
            local_files_only=local_files_only, token=token,
        )  # fmt: skip
        folder = files[CONFIG_NAME].parent

        def fix(path: Path) -> str:
            return (
                f"Delete it from the Hub cache ({path} and the blob it points to, "
                f"{path.resolve()}) and download it again with "
                f"{download_hint(repo, revision, force=True)}."
            )

    meta = read_config(files[CONFIG_NAME], fix(files[CONFIG_NAME]))
    state_dicts = read_weights(
        files[WEIGHTS_NAME], meta["components"], fix(files[WEIGHTS_NAME]), meta["weights_sha256"]
    )
    outer = {k: v for k, v in meta.items() if k != "config"}
    return Bundle(config=meta["config"], state_dicts=state_dicts, path=folder, meta=outer)


def push_to_hub(
    directory: str | os.PathLike,
    repo_id: str,
    token: str | bool | None = None,
    private: bool = False,
    commit_message: str = "Upload LokiTalk ID-AKT bundle",
) -> str:
    """Check the bundle folder, name ``repo_id`` in its card (in place of the placeholder),
    create the model repo if needed and upload the three bundle files; returns the commit URL."""
    folder = Path(directory).expanduser().resolve()
    from_pretrained(folder)  # refuse to upload a folder that would not load
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    card = folder / CARD_NAME
    if card.is_file() and REPO_PLACEHOLDER in (text := card.read_text(encoding="utf-8")):
        tmp = folder / f".{CARD_NAME}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(text.replace(REPO_PLACEHOLDER, repo_id), encoding="utf-8")
        os.replace(tmp, card)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=folder,
        commit_message=commit_message,
        repo_type="model",
        allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME],
    )
    return str(getattr(info, "commit_url", None) or info)
