"""Errors of the ID-AKT Hub bundle, and resolving a bundle's files through the Hub cache.

Resolution goes through ``huggingface_hub.hf_hub_download``, so the cache layout
(``<cache>/models--<org>--<name>/{blobs,refs,snapshots}``), offline mode and revisions behave
exactly as in every other Hub library. Each failure becomes a ``HubBundleError`` whose message
says what is wrong and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from huggingface_hub import constants, hf_hub_download
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import (
    EntryNotFoundError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    validate_repo_id,
)

from lokitalk_plugins import __version__
from lokitalk_plugins.errors import UserError

__all__ = [
    "HubBundleError",
    "BundleNotFoundError",
    "MissingBundleFileError",
    "BundleVersionError",
    "CorruptBundleError",
    "ComponentMismatchError",
    "download_hint",
    "hub_cache_dir",
    "is_offline",
    "resolve_hub_files",
]

_COMMIT = re.compile(r"[0-9a-f]{40}")


class HubBundleError(UserError, ValueError):
    """A bundle cannot be read or written; the message says what is wrong and what to do."""


class BundleNotFoundError(HubBundleError):
    """Neither a local folder nor a repo in the Hub cache (offline) or on the Hub (online)."""


class MissingBundleFileError(HubBundleError):
    """The folder, cached snapshot or repo lacks ``config.json`` or ``model.safetensors``."""


class BundleVersionError(HubBundleError):
    """``config.json`` is of another bundle format or format version."""


class CorruptBundleError(HubBundleError):
    """``model.safetensors`` or ``config.json`` cannot be parsed (truncated, garbage)."""


class ComponentMismatchError(HubBundleError):
    """Components in ``config.json`` and in the weights disagree, or weights do not fit a module."""


def download_hint(repo_id: str, revision: str | None = None, force: bool = False) -> str:
    """The shell command that fills the Hub cache, in its new (``hf``) and old spelling."""
    args = repo_id + (f" --revision {revision}" if revision else "")
    args += " --force-download" if force else ""
    return f"`hf download {args}` (huggingface_hub < 0.34: `huggingface-cli download {args}`)"


def hub_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The Hub cache folder used: ``cache_dir``, else ``HF_HUB_CACHE`` (default ~/.cache/...)."""
    return Path(constants.HF_HUB_CACHE if cache_dir is None else cache_dir).expanduser().resolve()


def is_offline() -> bool:
    """huggingface_hub's offline switch (``HF_HUB_OFFLINE=1``).

    huggingface_hub reads the environment variable once, when it is imported, into
    ``huggingface_hub.constants.HF_HUB_OFFLINE``; this asks the library rather than the
    environment so both always agree.
    """
    check = getattr(constants, "is_offline_mode", None)
    return bool(check() if check is not None else constants.HF_HUB_OFFLINE)


def _cached_snapshot(cache: Path, repo_id: str, revision: str | None) -> Path | None:
    """``snapshots/<commit>`` of ``repo_id`` in ``cache`` for ``revision`` (a ref or a commit)."""
    storage = cache / repo_folder_name(repo_id=repo_id, repo_type="model")
    revision = revision or constants.DEFAULT_REVISION
    commit = revision
    if not _COMMIT.fullmatch(revision):
        ref = storage / "refs" / revision
        commit = ref.read_text().strip() if ref.is_file() else ""
    snapshot = storage / "snapshots" / commit
    return snapshot if commit and snapshot.is_dir() else None


def _not_found(repo_id: str, revision: str | None, cache: Path, offline: bool) -> str:
    at = f" at revision '{revision}'" if revision else ""
    why = (
        "offline mode is on (local_files_only=True or HF_HUB_OFFLINE=1)"
        if offline
        else "the Hub could not be reached"
    )
    return (
        f"'{repo_id}'{at} is neither a local folder nor in the Hugging Face Hub cache ({cache}), "
        f"and {why}. To fix: when online, download it with {download_hint(repo_id, revision)} "
        "(or call from_pretrained without local_files_only), or pass the path of a local "
        "bundle folder written by save_pretrained."
    )


def resolve_hub_files(
    repo_id: str,
    filenames: Iterable[str],
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool | None = None,
    token: str | bool | None = None,
) -> dict[str, Path]:
    """Local paths (``snapshots/<commit>/<file>``) of ``filenames`` of the model repo ``repo_id``.

    ``local_files_only=None`` follows huggingface_hub's offline mode (``HF_HUB_OFFLINE``).
    Downloads only when online and the file is not cached yet.
    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise BundleNotFoundError(
            f"'{repo_id}' is neither an existing local folder nor a valid Hub repo id ({err}). "
            "Pass the path of a folder written by save_pretrained, or a repo id like 'org/name'."
        ) from err
    offline = is_offline() if local_files_only is None else bool(local_files_only)
    cache = hub_cache_dir(cache_dir)
    at = f" at revision '{revision}'" if revision else ""
    paths: dict[str, Path] = {}
    for name in filenames:
        try:
            found = hf_hub_download(
                repo_id,
                name,
                revision=revision,
                cache_dir=cache,
                local_files_only=offline,
                token=token,
                library_name="lokitalk-plugins",
                library_version=__version__,
            )
        except LocalEntryNotFoundError as err:  # before EntryNotFoundError: it is a subclass
            snapshot = _cached_snapshot(cache, repo_id, revision)
            if snapshot is None:
                why = offline or is_offline()  # HF_HUB_OFFLINE also blocks an explicit False
                raise BundleNotFoundError(_not_found(repo_id, revision, cache, why)) from err
            raise MissingBundleFileError(
                f"The cached snapshot {snapshot} of '{repo_id}'{at} has no {name} (an "
                f"interrupted download?). Download it again with {download_hint(repo_id, revision)}"
                " when online, or pass the path of a complete local bundle folder."
            ) from err
        except RevisionNotFoundError as err:
            raise BundleNotFoundError(
                f"The Hub repo '{repo_id}' has no revision '{revision}'. Pass an existing branch, "
                "tag or commit hash as revision, or leave it out for 'main'."
            ) from err
        except EntryNotFoundError as err:
            raise MissingBundleFileError(
                f"The Hub repo '{repo_id}'{at} has no {name}, so it is not a lokitalk-idakt "
                "bundle. Re-export the model with save_pretrained and upload it with push_to_hub."
            ) from err
        except RepositoryNotFoundError as err:
            raise BundleNotFoundError(
                f"'{repo_id}' is neither a local folder nor a repo on the Hugging Face Hub (or it "
                "is private or gated and your token has no access). Check the spelling, pass "
                "token=... (or log in: `hf auth login`; older: `huggingface-cli login`) for a "
                "private repo, or pass the path of a "
                "local bundle folder."
            ) from err
        paths[name] = Path(found)
    return paths
