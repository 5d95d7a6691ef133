"""ID-AKT Hub bundles: every error message says what is wrong and what to do (no network)."""

from __future__ import annotations

import json

import pytest
import torch
from hub_helpers import REPO, make_bundle, make_components, prepare_hub_cache
from huggingface_hub import constants
from torch import nn

from lokitalk_plugins.idakt import hub_cache
from lokitalk_plugins.idakt.hub import (
    BUNDLE_FORMAT,
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    BundleNotFoundError,
    BundleVersionError,
    ComponentMismatchError,
    CorruptBundleError,
    HubBundleError,
    MissingBundleFileError,
    from_pretrained,
    save_pretrained,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """huggingface_hub's own offline switch: any HTTP call would raise OfflineModeIsEnabled."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    "components, config, needle",
    [
        ({}, {}, "at least one component"),
        ({"id.akt": nn.Linear(2, 2)}, {}, "without '.'"),
        ({"relu": nn.ReLU()}, {}, "has no tensors"),
        ({"x": {"w": [1.0, 2.0]}}, {}, "'x.w' is a list, not a tensor"),
        ({"x": nn.Linear(2, 2)}, {"w": torch.zeros(2)}, "config is not JSON-able"),
    ],
)
def test_save_rejects_bad_input(tmp_path, components, config, needle):
    with pytest.raises(HubBundleError, match=needle):
        save_pretrained(tmp_path / "b", components, config)
    assert not (tmp_path / "b").exists()


def test_missing_repo_message(tmp_path):
    cache = tmp_path / "hub"
    with pytest.raises(BundleNotFoundError) as err:
        from_pretrained("lokitalk-test/absent", cache_dir=cache, local_files_only=True)
    msg = str(err.value)
    assert "'lokitalk-test/absent'" in msg and "neither a local folder nor" in msg
    assert str(cache.resolve()) in msg and "offline mode is on" in msg
    assert "huggingface-cli download lokitalk-test/absent" in msg
    assert "`hf download lokitalk-test/absent`" in msg and "local" in msg
    with pytest.raises(
        BundleNotFoundError, match="neither an existing local folder nor a valid Hub repo id"
    ):
        from_pretrained(str(tmp_path / "no" / "such" / "folder"), cache_dir=cache)
    with pytest.raises(BundleNotFoundError, match="revision 'v2'.*--revision v2"):
        folder, _ = make_bundle(tmp_path / "bundle")
        prepare_hub_cache(cache, folder, repo_id="lokitalk-test/other")
        from_pretrained("lokitalk-test/other", revision="v2", cache_dir=cache)


def test_missing_repo_message_when_online(tmp_path, monkeypatch):
    """The real hf_hub_download gets local_files_only=False; its HEAD call fails (blocked by
    huggingface_hub's offline switch before any connection), then the cache lookup fails."""
    cache = tmp_path / "hub"
    with pytest.raises(BundleNotFoundError, match="and offline mode is on"):
        from_pretrained("lokitalk-test/absent", cache_dir=cache, local_files_only=False)
    monkeypatch.setattr(hub_cache, "is_offline", lambda: False)  # as if the Hub were unreachable
    with pytest.raises(BundleNotFoundError) as err:
        from_pretrained("lokitalk-test/absent", cache_dir=cache)
    msg = str(err.value)
    assert "neither a local folder nor in the Hugging Face Hub cache" in msg
    assert "the Hub could not be reached" in msg and str(cache.resolve()) in msg
    assert "huggingface-cli download lokitalk-test/absent" in msg


def test_missing_files_messages(tmp_path):
    folder, _ = make_bundle(tmp_path / "bundle")
    snapshot = prepare_hub_cache(tmp_path / "hub", folder, files=(CONFIG_NAME, CARD_NAME))
    with pytest.raises(MissingBundleFileError) as err:
        from_pretrained(REPO, cache_dir=tmp_path / "hub", local_files_only=True)
    msg = str(err.value)
    assert str(snapshot) in msg and REPO in msg and WEIGHTS_NAME in msg
    assert f"huggingface-cli download {REPO}" in msg
    (folder / WEIGHTS_NAME).unlink()
    with pytest.raises(MissingBundleFileError, match=f"{folder} has no {WEIGHTS_NAME}"):
        from_pretrained(folder)
    with pytest.raises(MissingBundleFileError, match="is a file; pass the folder"):
        from_pretrained(folder / CONFIG_NAME)


@pytest.mark.parametrize(
    "field, value, found",
    [("format_version", 2, "format_version 2"), ("format", "other", "found format 'other'")],
)
def test_other_version_message(tmp_path, field, value, found):
    folder, _ = make_bundle(tmp_path / "bundle")
    meta = json.loads((folder / CONFIG_NAME).read_text())
    meta.update({field: value, "library_version": "9.9.9"})
    (folder / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(BundleVersionError) as err:
        from_pretrained(folder)
    msg = str(err.value)
    assert found in msg and "expected" in msg and "re-export" in msg.lower()
    if field == "format_version":
        assert "expected 1" in msg and "9.9.9" in msg and "matching lokitalk-plugins" in msg
    else:
        assert f"expected '{BUNDLE_FORMAT}'" in msg


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_weights_messages(tmp_path, damage):
    folder, _ = make_bundle(tmp_path / "bundle")
    snapshot = prepare_hub_cache(tmp_path / "hub", folder)
    for path in (folder / WEIGHTS_NAME, snapshot / WEIGHTS_NAME):
        data = path.read_bytes()
        path.resolve().write_bytes(data[: len(data) // 2] if damage == "truncate" else b"junk" * 9)
    with pytest.raises(CorruptBundleError, match=f"{folder / WEIGHTS_NAME} is corrupt"):
        from_pretrained(folder)
    with pytest.raises(CorruptBundleError) as err:
        from_pretrained(REPO, cache_dir=tmp_path / "hub", local_files_only=True)
    msg = str(err.value)
    assert f"{snapshot / WEIGHTS_NAME} is corrupt" in msg
    assert str((snapshot / WEIGHTS_NAME).resolve()) in msg and "blobs" in msg
    assert "Delete it from the Hub cache" in msg and "download it again" in msg
    assert f"huggingface-cli download {REPO} --force-download" in msg


def test_flipped_bytes_and_nan_weights_are_refused(tmp_path):
    """A bundle from someone else: changed bytes fail the checksum; NaN weights with a
    matching checksum fail the finiteness check; a config without checksum is refused."""
    import hashlib

    folder, _ = make_bundle(tmp_path / "bundle")
    weights, config = folder / WEIGHTS_NAME, folder / CONFIG_NAME
    data = bytearray(weights.read_bytes())
    data[-4:] = b"\x00\x00\xc0\x7f"  # the last float32 value becomes NaN
    weights.write_bytes(bytes(data))
    changed = rf"{weights} is corrupt: its SHA-256 .* differs from .* recorded in config.json "
    with pytest.raises(CorruptBundleError, match=changed + r"\(changed bytes\)\. Re-export"):
        from_pretrained(folder)
    meta = json.loads(config.read_text())
    config.write_text(json.dumps({**meta, "weights_sha256": hashlib.sha256(data).hexdigest()}))
    nan = rf"{weights} holds NaN or infinite values in 1 tensor\(s\) \(\w+\.[\w.]+\)"
    with pytest.raises(CorruptBundleError, match=nan):
        from_pretrained(folder)
    del meta["weights_sha256"]
    config.write_text(json.dumps(meta))
    with pytest.raises(CorruptBundleError, match="records no valid 'weights_sha256'"):
        from_pretrained(folder)


class _Payload:
    """Unpickling this writes a marker file: what a hostile pickle could do instead."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_in_place_of_the_weights_is_never_run(tmp_path):
    """A bundle from someone else is loaded without running their code: a pickle (torch.save)
    named model.safetensors, with a matching checksum, is refused and nothing is executed."""
    import hashlib

    folder, _ = make_bundle(tmp_path / "bundle")
    marker = tmp_path / "ran.txt"
    torch.save({"idakt.weight": _Payload(marker)}, folder / WEIGHTS_NAME)
    meta = json.loads((folder / CONFIG_NAME).read_text())
    meta["weights_sha256"] = hashlib.sha256((folder / WEIGHTS_NAME).read_bytes()).hexdigest()
    (folder / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(CorruptBundleError, match=f"{folder / WEIGHTS_NAME} is corrupt"):
        from_pretrained(folder)
    assert not marker.exists()
    with open(folder / WEIGHTS_NAME, "rb") as f:  # the file is hostile: unpickling it
        torch.load(f, weights_only=False)
    assert marker.exists()  # runs its code


def test_non_finite_weights_are_not_saved(tmp_path):
    bad = nn.Linear(2, 2)
    with torch.no_grad():
        bad.bias[1] = float("inf")
    with pytest.raises(HubBundleError, match=r"'idakt.bias' holds NaN or infinite values"):
        save_pretrained(tmp_path / "b", {"idakt": bad}, {})
    assert not (tmp_path / "b").exists()


def test_corrupt_config_message(tmp_path):
    folder, _ = make_bundle(tmp_path / "bundle")
    (folder / CONFIG_NAME).write_text('{"format": ')
    with pytest.raises(CorruptBundleError, match="config.json is corrupt: not valid JSON"):
        from_pretrained(folder)


@pytest.mark.parametrize(
    "names, needle",
    [
        (["ghost", "idakt", "shared"], r"lists component\(s\) \['ghost'\] that have no weights"),
        (["idakt"], r"weights for unknown component\(s\) \['shared'\]"),
    ],
)
def test_component_mismatch_messages(tmp_path, names, needle):
    folder, _ = make_bundle(tmp_path / "bundle")
    meta = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(json.dumps({**meta, "components": names}))
    with pytest.raises(ComponentMismatchError, match=needle):
        from_pretrained(folder)


def test_load_into_errors(tmp_path):
    folder, _ = make_bundle(tmp_path / "bundle")
    bundle = from_pretrained(folder)
    with pytest.raises(ComponentMismatchError, match=r"no component 'rsdf'.*\['idakt', 'shared'\]"):
        bundle.load_into("rsdf", nn.Linear(4, 3))
    with pytest.raises(
        ComponentMismatchError, match="(?s)do not fit this Linear.*size mismatch.*bundle.config"
    ):
        bundle.load_into("idakt", nn.Linear(5, 3))
    bigger = nn.Sequential(*make_components()["shared"], nn.Linear(2, 2))
    result = bundle.load_into("shared", bigger, strict=False)
    assert result.missing_keys == ["4.weight", "4.bias"] and result.unexpected_keys == []
    assert torch.equal(bigger[0].weight, bundle.state_dicts["shared"]["0.weight"])
