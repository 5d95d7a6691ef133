"""Issue 15's defects of the validator and the folder reader: NaN audio, a validation that
stopped at the first broken file, the eye source under ``auto``, an audio file outside the
folder, a truncated image, non-finite AU45 values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from folder_helpers import first_img_id, read_json, write_au_csv, write_json

from lokitalk_plugins.cli import main
from lokitalk_plugins.data import FolderValidationError, TalkingHeadFolder, validate_folder
from lokitalk_plugins.data.audio import AudioLayoutError
from lokitalk_plugins.data.problems import FolderReadError
from lokitalk_plugins.errors import UserError


def test_nan_audio_rows_are_reported_with_the_file(folder_copy):
    aud = np.load(folder_copy / "aud.npy")
    aud[3, 0, 0] = np.nan
    aud[7, 5, 1] = np.inf
    np.save(folder_copy / "aud.npy", aud)
    problems = validate_folder(folder_copy)
    assert [(p.path, p.kind) for p in problems] == [(str(folder_copy / "aud.npy"), "bad_value")]
    assert problems[0].message == (
        f"{folder_copy / 'aud.npy'}: 2 row(s) of audio features hold NaN or infinite values "
        "(row 3, 7); recompute the features (lokitalk features, or your extractor)"
    )
    with pytest.raises(FolderValidationError, match="aud.npy: 2 row"):
        TalkingHeadFolder(folder_copy, progress=False)
    with pytest.raises(AudioLayoutError, match=r"aud.npy: 2 row\(s\)"):  # no validation
        TalkingHeadFolder(folder_copy, validate=False, progress=False)


def test_missing_focal_len_still_checks_the_frames(folder_copy):
    path = folder_copy / "transforms_train.json"
    meta = read_json(path)
    del meta["focal_len"]
    write_json(path, meta)
    i = first_img_id(folder_copy)
    (folder_copy / f"gt_imgs/{i}.jpg").unlink()
    (folder_copy / f"ori_imgs/{i}.lms").write_text("1 2\n3 4\n")
    found = {(p.path, p.kind) for p in validate_folder(folder_copy)}
    assert found == {
        (str(path), "missing_key"),
        (str(folder_copy / f"gt_imgs/{i}.jpg"), "missing_file"),
        (str(folder_copy / f"ori_imgs/{i}.lms"), "bad_shape"),
    }


@pytest.mark.parametrize("name", ["../aud.npy", "sub/../../aud.npy", "ABS"])
def test_audio_file_outside_the_folder_is_refused(folder_copy, name):
    outside = folder_copy.parent / "aud.npy"
    outside.write_bytes((folder_copy / "aud.npy").read_bytes())
    name = str(outside) if name == "ABS" else name
    problems = validate_folder(folder_copy, audio_file=name)
    assert len(problems) == 1 and problems[0].path == name
    assert problems[0].message == (
        f"audio_file {name!r} is not a file name inside the folder {folder_copy}: copy the "
        "features into the folder and pass their name (--audio-file aud_ds.npy, or "
        "TalkingHeadFolder.audio_file)"
    )
    with pytest.raises(AudioLayoutError, match="is not a file name inside the folder"):
        TalkingHeadFolder(folder_copy, audio_file=name, validate=False, progress=False)


def test_eye_source_auto_says_which_source_and_warns(folder_copy, capsys):
    ids = range(200)
    (folder_copy / "au.csv").write_text("frame, AU12_r\n" + "".join(f"{i + 1}, 0.5\n" for i in ids))
    assert main(["validate", str(folder_copy), "--quiet", "--eye-source", "auto"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "eye source: landmarks"
    assert out[2] == (
        f"warning: {folder_copy / 'au.csv'}: no column 'AU45_r' (found 2 columns: frame, "
        "AU12_r); eye values fall back to the landmark aspect ratio"
    )
    write_au_csv(folder_copy, {i: 0.5 for i in ids})
    assert main(["validate", str(folder_copy), "--quiet", "--eye-source", "auto"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["eye source: au45 (AU45_r of au.csv)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a usable au.csv: no warning from the reader either
        data = TalkingHeadFolder(folder_copy, eye_source="auto", progress=False)
    assert data.eye_source == "au45"


def test_non_finite_au45_is_reported(folder_copy):
    write_au_csv(folder_copy, {i: (float("nan") if i == 2 else 0.5) for i in range(200)})
    problems = validate_folder(folder_copy, eye_source="au45")
    assert [p.path for p in problems] == [str(folder_copy / "au.csv")]
    assert "row 4 has no finite number in column 'AU45_r'" in problems[0].message


def test_truncated_image_is_reported_and_never_a_traceback(folder_copy):
    i = first_img_id(folder_copy)
    path = folder_copy / f"gt_imgs/{i}.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    problems = validate_folder(folder_copy)
    assert [(p.path, p.kind) for p in problems] == [(str(path), "unreadable")]
    assert "the JPEG data is truncated (no end marker); write the image again" in str(problems[0])
    data = TalkingHeadFolder(folder_copy, validate=False, progress=False)
    with pytest.raises(FolderReadError, match=f"{path}: cannot decode the image") as err:
        data[data.img_ids.index(i)]
    assert isinstance(err.value, UserError)


def _nan_track(root):
    import torch

    params = torch.load(root / "track_params.pt", weights_only=True)
    params["euler"][1, 2] = float("nan")
    torch.save(params, root / "track_params.pt")
    return "track_params.pt", "'euler' holds NaN or infinite values"


def _empty_audio(root):
    (root / "aud.npy").write_bytes(b"")
    return "aud.npy", "cannot read"


def _huge_cx(root):
    meta = read_json(root / "transforms_val.json")
    meta["cx"] = 1e39  # finite in JSON, inf as float32
    write_json(root / "transforms_val.json", meta)
    return "transforms_val.json", "key 'cx' is 1e+39, expected a positive number < 1e+30"


def _huge_matrix_entry(root):
    meta = read_json(root / "transforms_train.json")
    meta["frames"][2]["transform_matrix"][0][3] = -1e39
    write_json(root / "transforms_train.json", meta)
    return "transforms_train.json", "has a 'transform_matrix' that is not 4x4 numbers"


def _truncated_background(root):
    data = (root / "bc.jpg").read_bytes()
    (root / "bc.jpg").write_bytes(data[:-10])  # the header reads, the pixels do not
    return "bc.jpg", "truncated (no end marker)"


@pytest.mark.parametrize(
    "breaker", [_nan_track, _empty_audio, _huge_cx, _huge_matrix_entry, _truncated_background]
)
def test_corruptions_found_by_the_property_test(folder_copy, breaker):
    """Regressions of what tests/data/test_folder_properties.py found: each passed the
    validator silently (NaN/inf values later) or ended in a traceback."""
    rel, needle = breaker(folder_copy)
    problems = validate_folder(folder_copy, eye_source="au45", pose_source="track")
    assert [p.path for p in problems] == [str(folder_copy / rel)]
    assert needle in problems[0].message


@pytest.mark.parametrize(
    "dtype, value, needle",
    [
        ("complex64", 1, "dtype complex64, expected real numbers (float32)"),
        ("<U8", 1, "dtype <U8, expected real numbers (float32)"),
        ("float64", 1e39, "1 row(s) of audio features hold NaN or infinite values (row 4)"),
    ],
)
def test_audio_features_of_another_dtype_or_beyond_float32(folder_copy, dtype, value, needle):
    aud = np.load(folder_copy / "aud.npy").astype(dtype)
    aud[4, 0, 0] = value
    np.save(folder_copy / "aud.npy", aud)
    problems = validate_folder(folder_copy)
    assert [(p.path, p.kind) for p in problems] == [(str(folder_copy / "aud.npy"), "bad_value")]
    assert needle in problems[0].message
    with pytest.raises(AudioLayoutError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        TalkingHeadFolder(folder_copy, validate=False, progress=False)
