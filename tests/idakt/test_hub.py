"""ID-AKT Hub bundles: local round trip, offline resolution through the real huggingface_hub
cache code, and push_to_hub with HfApi patched (never any network; errors: test_hub_errors)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest
import torch
from hub_helpers import CARD, COMMIT, CONFIG, REPO, make_bundle, make_components, prepare_hub_cache
from huggingface_hub import ModelCard, constants, scan_cache_dir, try_to_load_from_cache

import lokitalk_plugins
from lokitalk_plugins.idakt import hub_cache
from lokitalk_plugins.idakt.hub import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    CorruptBundleError,
    HubBundleError,
    from_pretrained,
    push_to_hub,
    save_pretrained,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """huggingface_hub's own offline switch: any HTTP call would raise OfflineModeIsEnabled."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def assert_loads(bundle, components):
    """Every tensor of every component came back bit-exact, and load_into fills fresh modules."""
    assert sorted(bundle.state_dicts) == sorted(components) == bundle.meta["components"]
    for name, module in components.items():
        expected = module.state_dict()
        assert sorted(bundle.state_dicts[name]) == sorted(expected)
        for key, value in expected.items():
            assert torch.equal(bundle.state_dicts[name][key], value), (name, key)
    fresh = make_components(seed=1)
    assert not torch.equal(fresh["idakt"].weight, components["idakt"].weight)
    for name, module in fresh.items():
        bundle.load_into(name, module, strict=True)
        for key, value in module.state_dict().items():
            assert torch.equal(value, components[name].state_dict()[key])


def test_local_round_trip_config_and_card(tmp_path):
    folder, components = make_bundle(tmp_path / "bundle")
    assert folder == (tmp_path / "bundle").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no temp folder left
    assert sorted(p.name for p in folder.iterdir()) == [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME]
    bundle = from_pretrained(folder)
    assert bundle.config == CONFIG and bundle.path == folder
    assert bundle.meta == {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "library_version": lokitalk_plugins.__version__,
        "components": ["idakt", "shared"],
        "weights_sha256": hashlib.sha256((folder / WEIGHTS_NAME).read_bytes()).hexdigest(),
    }
    # normal permissions for every file (0666 minus the umask), not a temp file's 0600
    mask = os.umask(0)
    os.umask(mask)
    for name in (CARD_NAME, CONFIG_NAME, WEIGHTS_NAME):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o666 & ~mask, name
    assert_loads(bundle, components)
    text = (folder / CARD_NAME).read_text()
    assert text.startswith("---\n") and "from_pretrained(" in text
    data = ModelCard.load(folder / CARD_NAME).data  # huggingface_hub's own front-matter parser
    assert data.library_name == "lokitalk-plugins"
    assert data.tags == ["talking-head", "nerf", "lokitalk", "id-akt"]
    assert (
        {k: getattr(data, k) for k in CARD}
        == CARD
        == {"identities": 12, "steps": 2000, "backbone": "er_nerf"}
    )
    assert 'from_pretrained("<org>/<name>")' in text  # named by push_to_hub or card["repo_id"]
    named = save_pretrained(tmp_path / "named", components, CONFIG, card={"repo_id": REPO})
    text = (named / CARD_NAME).read_text()
    assert f'from_pretrained("{REPO}")' in text and f"hf download {REPO}`" in text
    assert ModelCard.load(named / CARD_NAME).data.to_dict() == {
        "library_name": "lokitalk-plugins",
        "tags": ["talking-head", "nerf", "lokitalk", "id-akt"],
    }


def test_state_dicts_with_shared_and_strided_tensors(tmp_path):
    torch.manual_seed(0)
    base = torch.randn(4, 6)
    tied = {"a.weight": base, "b.weight": base, "t": base.t(), "row": base[1], "n": torch.arange(3)}
    save_pretrained(tmp_path / "b", {"tied": tied}, {"note": "tied"})
    loaded = from_pretrained(tmp_path / "b").state_dicts["tied"]
    for key, value in tied.items():
        assert torch.equal(loaded[key], value) and loaded[key].is_contiguous()
    # saving again over an existing folder is refused, changing nothing; with overwrite=True
    # it replaces the bundle files and keeps other files
    (tmp_path / "b" / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    with pytest.raises(HubBundleError, match=r"already holds model.safetensors, README.md, "
                       r"config.json: .* or pass overwrite=True"):  # fmt: skip
        make_bundle(tmp_path / "b", seed=3)
    assert {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()} == before
    folder, components = make_bundle(tmp_path / "b", seed=3, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, "notes.txt"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temp folder left
    assert_loads(from_pretrained(folder), components)


def test_hub_cache_resolution_offline(tmp_path):
    folder, components = make_bundle(tmp_path / "bundle")
    cache = tmp_path / "hub"
    snapshot = prepare_hub_cache(cache, folder)
    # huggingface_hub's own cache scanner accepts the layout: one repo, main -> COMMIT
    info = scan_cache_dir(cache)
    assert info.warnings == [] and [r.repo_id for r in info.repos] == [REPO]
    (revision,) = next(iter(info.repos)).revisions
    assert revision.commit_hash == COMMIT and revision.refs == frozenset({"main"})
    assert try_to_load_from_cache(REPO, WEIGHTS_NAME, cache_dir=cache) == str(
        snapshot / WEIGHTS_NAME
    )
    for rev in (None, "main", COMMIT):
        bundle = from_pretrained(REPO, revision=rev, cache_dir=cache, local_files_only=True)
        assert bundle.path == snapshot and bundle.config == CONFIG
        assert_loads(bundle, components)


def test_hub_cache_with_copied_files(tmp_path):
    folder, components = make_bundle(tmp_path / "bundle")
    snapshot = prepare_hub_cache(tmp_path / "hub", folder, symlinks=False)
    bundle = from_pretrained(REPO, cache_dir=tmp_path / "hub", local_files_only=True)
    assert bundle.path == snapshot
    assert_loads(bundle, components)


@pytest.mark.parametrize("offline", [True, False])
def test_local_files_only_follows_offline_mode(tmp_path, monkeypatch, offline):
    """local_files_only=None asks huggingface_hub's offline switch (read at its import time)."""
    folder, components = make_bundle(tmp_path / "bundle")
    prepare_hub_cache(tmp_path / "hub", folder)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    seen, real = [], hub_cache.hf_hub_download

    def spy(*args, **kwargs):
        seen.append(kwargs["local_files_only"])
        return real(*args, **{**kwargs, "local_files_only": True})  # never reach the network

    monkeypatch.setattr(hub_cache, "hf_hub_download", spy)
    assert_loads(from_pretrained(REPO, cache_dir=tmp_path / "hub"), components)
    assert seen == [offline, offline]


@pytest.mark.slow
def test_env_hf_hub_offline_in_fresh_process(tmp_path):
    """HF_HUB_OFFLINE=1 set before huggingface_hub is imported: resolves from the cache."""
    folder, _ = make_bundle(tmp_path / "bundle")
    prepare_hub_cache(tmp_path / "hub", folder)
    code = (
        "import sys, torch\nfrom lokitalk_plugins.idakt.hub import from_pretrained\n"
        f"b = from_pretrained({REPO!r}, cache_dir=sys.argv[1])\n"
        "print(sorted(b.state_dicts), b.path.name)\n"
        f"from_pretrained('lokitalk-test/absent', cache_dir=sys.argv[1])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "hub")], env=env, capture_output=True, text=True
    )
    assert run.stdout.strip() == f"['idakt', 'shared'] {COMMIT}"
    assert "BundleNotFoundError" in run.stderr and "offline mode is on" in run.stderr


def test_push_to_hub_with_patched_api(tmp_path, monkeypatch):
    folder, _ = make_bundle(tmp_path / "bundle")
    calls = []

    def create_repo(self, repo_id, **kw):
        calls.append(("create_repo", self.token, repo_id, kw))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kw):
        calls.append(("upload_folder", self.token, kw.pop("repo_id"), kw))
        return huggingface_hub.CommitInfo(
            commit_url=f"https://huggingface.co/{REPO}/commit/{COMMIT}",
            commit_message=kw["commit_message"],
            commit_description="",
            oid=COMMIT,
        )

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    url = push_to_hub(folder, REPO, token="hf_test", private=True, commit_message="tiny")
    assert url == f"https://huggingface.co/{REPO}/commit/{COMMIT}"
    (_, tok, repo, kw), (_, tok2, repo2, up) = calls
    assert (tok, repo, tok2, repo2) == ("hf_test", REPO, "hf_test", REPO)
    assert kw["private"] is True and kw["exist_ok"] is True and kw["repo_type"] == "model"
    assert Path(up["folder_path"]) == folder and up["commit_message"] == "tiny"
    assert sorted(up["allow_patterns"]) == sorted([CONFIG_NAME, WEIGHTS_NAME, CARD_NAME])
    text = (folder / CARD_NAME).read_text()
    assert f'from_pretrained("{REPO}")' in text and "<org>/<name>" not in text
    assert sorted(p.name for p in folder.iterdir()) == [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME]
    calls.clear()
    (folder / WEIGHTS_NAME).write_bytes(b"junk")
    with pytest.raises(CorruptBundleError):
        push_to_hub(folder, REPO)
    assert calls == []  # a broken folder is refused before any Hub call
