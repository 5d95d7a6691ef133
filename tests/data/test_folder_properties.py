"""Property-based tests (hypothesis) of the validator and the folder reader on random
corruptions of a studio folder: every corruption is either read correctly (every value of
every frame finite and in range) or reported with its file named, never a traceback.

One corruption per example of one file of a copy of the session's studio folder: deleted,
truncated, bytes overwritten, replaced by garbage / a folder / a symbolic link loop, a JSON
value replaced, a NaN / inf / huge value written into an array, a table cell replaced, an
array saved with another dtype or layout.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lokitalk_plugins.data import FolderValidationError, TalkingHeadFolder, validate_folder
from lokitalk_plugins.data.folder import FrameSample
from lokitalk_plugins.errors import UserError

OPTIONS = {"eye_source": "au45", "pose_source": "track"}  # so au.csv and track_params.pt count
EYE_SOURCES = ["au45", "au45", "auto", "landmarks"]  # au45 most: it reads au.csv
POSE_SOURCES = ["track", "camera"]
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=SLOW_OK)  # fmt: skip
STRUCTURAL = ("delete", "garbage", "folder", "loop")
ODD_VALUES = [None, "x", -1, 0, 2.5, 1e39, -1e39, math.nan, math.inf, [], {}, True, 10**7]


def _files(root: Path) -> list[list[str]]:
    """The folder's files by kind (each top-level file, then one list per sub-folder and
    suffix), so a rare kind (track_params.pt) is drawn as often as a frame's image."""
    kinds: dict[str, list[str]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root)
            kind = str(rel) if len(rel.parts) == 1 else f"{rel.parts[0]}/*{p.suffix}"
            kinds.setdefault(kind, []).append(str(rel))
    return list(kinds.values())


def _replace_json_value(path: Path, data) -> None:
    meta = json.loads(path.read_text())
    if data.draw(st.booleans(), label="top level"):
        key = data.draw(st.sampled_from(sorted(meta)), label="key")
        meta[key] = data.draw(st.sampled_from(ODD_VALUES), label="value")
    else:
        frame = data.draw(st.sampled_from(meta["frames"]), label="frame")
        key = data.draw(st.sampled_from(sorted(frame)), label="frame key")
        if key == "transform_matrix" and data.draw(st.booleans(), label="one entry"):
            row, col = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
            frame[key][row][col] = data.draw(st.sampled_from(ODD_VALUES), label="entry")
        else:
            frame[key] = data.draw(st.sampled_from(ODD_VALUES), label="value")
    path.write_text(json.dumps(meta))


def _edit_array(path: Path, data) -> None:
    if path.suffix == ".npy":
        array = np.load(path)
        flat = array.reshape(-1)
        with np.errstate(over="ignore"):  # 1e39 becomes inf in float32: a corruption too
            flat[data.draw(st.integers(0, flat.size - 1), label="at")] = data.draw(
                st.sampled_from([np.nan, np.inf, -np.inf, 1e39]), label="value"
            )
        np.save(path, array)
    elif path.suffix == ".pt":
        params = torch.load(path, weights_only=True)
        key = data.draw(st.sampled_from(sorted(params)), label="key")
        flat = params[key].reshape(-1)
        flat[data.draw(st.integers(0, flat.numel() - 1), label="at")] = float("nan")
        torch.save(params, path)
    else:  # a text table: .lms, au.csv
        lines = path.read_text().splitlines()
        row = data.draw(st.integers(0, len(lines) - 1), label="row")
        cells = lines[row].split(",") if path.suffix == ".csv" else lines[row].split()
        col = data.draw(st.integers(0, len(cells) - 1), label="col")
        cells[col] = data.draw(st.sampled_from(["nan", "inf", "x", "", "1e400", "7 7"]))
        lines[row] = (", " if path.suffix == ".csv" else " ").join(cells)
        path.write_text("\n".join(lines) + "\n")


def corrupt(root: Path, rel: str, op: str, data) -> None:
    """Apply corruption ``op`` to the file ``root / rel`` (extra choices drawn from ``data``)."""
    path = root / rel
    raw = path.read_bytes()
    if op == "delete":
        path.unlink()
    elif op == "truncate":
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1), label="keep")])
    elif op == "overwrite":
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        junk = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        path.write_bytes(raw[:at] + junk + raw[at + len(junk) :])
    elif op == "garbage":
        path.write_bytes(data.draw(st.binary(max_size=64), label="garbage"))
    elif op == "folder":
        path.unlink()
        path.mkdir()
    elif op == "loop":
        path.unlink()
        path.symlink_to(path)
    elif op == "recast" and path.suffix == ".npy":  # same values, another dtype or layout
        array = np.load(path)
        how = data.draw(st.sampled_from(["int8", "float16", "bool", "<U4", "complex64",
                                         "T", "drop", "flat"]), label="recast")  # fmt: skip
        if how == "T":
            array = array.transpose(0, 2, 1)
        elif how == "drop":
            array = array[:-3]
        elif how == "flat":
            array = array.reshape(len(array), -1)
        else:
            array = array.astype(how)
        np.save(path, array)
    elif op == "value":
        if path.suffix == ".json":
            _replace_json_value(path, data)
        elif path.suffix in (".npy", ".pt", ".lms", ".csv"):
            _edit_array(path, data)


def _check_sample(sample: FrameSample) -> None:
    for name in ("image", "background", "c2w", "intrinsics", "audio", "eye", "pose", "landmarks"):
        value = getattr(sample, name)
        assert torch.isfinite(value).all(), f"{name} holds NaN/inf after validation passed"
    for name in ("image", "background"):
        value = getattr(sample, name)
        assert 0.0 <= float(value.min()) and float(value.max()) <= 1.0, name


def _unused(options: dict) -> set[str]:
    """Files of the studio folder that these reader options never read."""
    unused = {"aud.wav"}
    if options["eye_source"] != "au45":  # "auto" falls back to landmarks, with a warning
        unused.add("au.csv")
    if options["pose_source"] != "track":
        unused.add("track_params.pt")
    return unused


def _read_everything(root: Path, rel: str, op: str, options: dict = OPTIONS) -> None:
    """Both splits construct and every frame reads with finite values; a decode error at
    read time (image bytes the header check cannot see) must be a UserError naming the file."""
    for split in ("train", "val"):
        data = TalkingHeadFolder(root, split=split, progress=False, validate=False, **options)
        for i in range(len(data)):
            try:
                sample = data[i]
            except UserError as err:
                assert op in ("overwrite", "truncate") and str(root / rel) in str(err), err
                continue
            _check_sample(sample)
        data.eye_values  # noqa: B018  (reads every landmark file or AU45 value)
        assert torch.isfinite(data.eye_values).all()


@pytest.fixture(scope="session")
def studio_files(studio_folder) -> list[list[str]]:
    return _files(studio_folder)


@SETTINGS
@given(data=st.data())
def test_every_corruption_is_read_correctly_or_reported_with_its_file(
    studio_folder, studio_files, data
):
    rel = data.draw(st.sampled_from(data.draw(st.sampled_from(studio_files))), label="file")
    op = data.draw(st.sampled_from(["delete", "truncate", "overwrite", "garbage", "folder",
                                    "loop", "value", "value", "recast"]), label="op")  # fmt: skip
    options = {
        "eye_source": data.draw(st.sampled_from(EYE_SOURCES), label="eye_source"),
        "pose_source": data.draw(st.sampled_from(POSE_SOURCES), label="pose_source"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "copy"
        shutil.copytree(studio_folder, root, symlinks=True)
        corrupt(root, rel, op, data)
        problems = validate_folder(root, **options)  # never raises
        for p in problems:
            assert str(root) in p.message, p.message  # every problem names its file
        if problems:
            if op in STRUCTURAL:
                assert any(p.path == str(root / rel) for p in problems), problems
            with pytest.raises(FolderValidationError) as err:
                TalkingHeadFolder(root, progress=False, **options)
            assert [p.message for p in err.value.problems] == [p.message for p in problems]
        else:
            assert op not in STRUCTURAL or rel in _unused(options), "a file broke silently"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # eye_source "auto" warns on a broken au.csv
                _read_everything(root, rel, op, options)


def test_the_uncorrupted_folder_reads(studio_folder):
    """The property's baseline: the studio folder itself passes and reads in full."""
    assert validate_folder(studio_folder, **OPTIONS) == []
    _read_everything(studio_folder, "", "none")
