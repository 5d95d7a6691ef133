"""Property-based tests (hypothesis) of bundle loading: any changed bytes of a bundle from
someone else either load the very tensors that were saved or raise a HubBundleError naming the
file; never another exception, never other values."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hub_helpers import make_bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lokitalk_plugins.idakt.hub import CONFIG_NAME, WEIGHTS_NAME, HubBundleError, from_pretrained

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder, components = make_bundle(tmp_path_factory.mktemp("hubprop") / "bundle")
    return folder, {n: m.state_dict() for n, m in components.items()}


@SETTINGS
@given(
    name=st.sampled_from([WEIGHTS_NAME, CONFIG_NAME]),
    at=st.floats(0.0, 1.0, exclude_max=True),
    junk=st.binary(min_size=1, max_size=4),
)
def test_changed_bytes_load_the_saved_tensors_or_are_refused(bundle, name, at, junk):
    folder, saved = bundle
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bundle"
        shutil.copytree(folder, copy)
        path = copy / name
        data = path.read_bytes()
        i = int(at * len(data))
        changed = data[:i] + junk + data[i + len(junk) :]
        path.write_bytes(changed)
        try:
            loaded = from_pretrained(copy)
        except HubBundleError as err:
            assert str(copy) in str(err), err
            assert changed != data
            return
        if name == WEIGHTS_NAME:
            assert changed == data  # the checksum refuses any other weights file
        for component, state in saved.items():
            for key, value in state.items():
                assert torch.equal(loaded.state_dicts[component][key], value), (component, key)
