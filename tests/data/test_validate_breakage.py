"""The validator names the file and the problem for every kind of breakage of a folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from folder_helpers import first_img_id, read_json, write_au_csv, write_json
from PIL import Image

from lokitalk_plugins.data import FolderValidationError, TalkingHeadFolder, validate_folder


def _frame_ids(root: Path) -> list[int]:
    ids = set()
    for split in ("train", "val"):
        ids |= {f["img_id"] for f in read_json(root / f"transforms_{split}.json")["frames"]}
    return sorted(ids)


def _edit_json(root: Path, edit, split: str = "train") -> None:
    path = root / f"transforms_{split}.json"
    meta = read_json(path)
    edit(meta)
    write_json(path, meta)


def _delete(rel: str):
    def breaker(root: Path):
        rel_path = rel.format(first_img_id(root))
        (root / rel_path).unlink()
        return {}, rel_path, r"not found"

    return breaker


def _drop_key(key: str, split: str = "train"):
    def breaker(root: Path):
        _edit_json(root, lambda m: m.pop(key), split)
        if key == "focal_len":  # the studio may also write fl_x / fl_y
            _edit_json(root, lambda m: (m.pop("fl_x", None), m.pop("fl_y", None)), split)
        return {}, f"transforms_{split}.json", rf"missing key '{key}'"

    return breaker


def _drop_frame_key(key: str):
    def breaker(root: Path):
        _edit_json(root, lambda m: m["frames"][1].pop(key))
        return {}, "transforms_train.json", rf"frames\[1 \(1 frame\(s\)\)\] has no key '{key}'"

    return breaker


def _bad_matrix(root: Path):
    _edit_json(root, lambda m: m["frames"][2].update(transform_matrix=[[1, 0, 0, 0]] * 3))
    return {}, "transforms_train.json", r"frames\[2 .*'transform_matrix' that is not 4x4"


def _malformed_json(root: Path):
    (root / "transforms_val.json").write_text('{"focal_len": 10, "frames": [')
    return {}, "transforms_val.json", r"not valid JSON"


def _frame_without_images(root: Path):
    def add(meta):
        extra = dict(meta["frames"][0], img_id=9999, aud_id=0)
        meta["frames"].append(extra)

    _edit_json(root, add)
    return {}, "gt_imgs/9999.jpg", r"not found \(frame img_id=9999 has no gt_imgs file\)"


def _lms_shape(rows: int, cols: int):
    def breaker(root: Path):
        i = first_img_id(root)
        np.savetxt(root / f"ori_imgs/{i}.lms", np.ones((rows, cols)))
        return {}, f"ori_imgs/{i}.lms", rf"landmarks of shape {rows}x{cols}, expected 68x2"

    return breaker


def _few_audio_rows(root: Path):
    aud = np.load(root / "aud.npy")
    np.save(root / "aud.npy", aud[:3])
    largest = max(
        f["aud_id"]
        for s in ("train", "val")
        for f in read_json(root / f"transforms_{s}.json")["frames"]
    )
    msg = rf"3 audio rows but the largest aud_id is {largest}: expected at least {largest + 1}"
    return {}, "aud.npy", msg


def _audio_layout(root: Path):
    n = np.load(root / "aud.npy").shape[0]
    np.save(root / "aud_ds.npy", np.zeros((n, 29), np.float32))
    msg = rf"shape \[{n}, 29\] match no accepted layout; expected \[N, 16, K\].*\[N, 2, 1024\]"
    return {"audio_file": "aud_ds.npy"}, "aud_ds.npy", msg


def _missing_audio_file(root: Path):
    return {"audio_file": "aud_hu.npy"}, "aud_hu.npy", r"audio feature file not found"


def _au_without_column(root: Path):
    (root / "au.csv").write_text("frame, face_id, AU01_r\n1, 0, 0.5\n")
    return {"eye_source": "au45"}, "au.csv", r"no column 'AU45_r'"


def _au_few_rows(root: Path):
    ids = _frame_ids(root)
    write_au_csv(root, {i: 0.5 for i in ids[:-2]})
    msg = rf"frame\(s\) have no row: img_id {ids[-2]}, {ids[-1]}"
    return {"eye_source": "au45"}, "au.csv", msg


def _au_missing(root: Path):
    (root / "au.csv").unlink(missing_ok=True)
    return {"eye_source": "au45"}, "au.csv", r"au.csv not found but eye_source='au45'"


def _parsing_colours(root: Path):
    i = first_img_id(root)
    path = root / f"parsing/{i}.png"
    rgb = np.array(Image.open(path).convert("RGB")).copy()
    h, w = rgb.shape[:2]
    rgb[: h // 2, : w // 2] = (128, 0, 128)  # purple: far from every class colour
    Image.fromarray(rgb).save(path)
    return {}, f"parsing/{i}.png", r"colours far from every parsing class, e\.g\. \(128, 0, 128\)"


def _resize(rel: str):
    def breaker(root: Path):
        rel_path = rel.format(_frame_ids(root)[-1])
        path = root / rel_path
        im = Image.open(path)
        w, h = im.size
        im.resize((w + 2, h)).save(path)
        return {}, rel_path, rf"is {h}x{w + 2} \(HxW\) but the frames are {h}x{w}"

    return breaker


def _torso_without_alpha(root: Path):
    i = first_img_id(root)
    path = root / f"torso_imgs/{i}.png"
    Image.open(path).convert("RGB").save(path)
    return {}, f"torso_imgs/{i}.png", r"image mode RGB has no alpha channel"


BREAKAGES = {
    "no_transforms_train": _delete("transforms_train.json"),
    "no_transforms_val": _delete("transforms_val.json"),
    "no_bc": _delete("bc.jpg"),
    "no_aud": _delete("aud.npy"),
    "no_ori_img": _delete("ori_imgs/{}.jpg"),
    "no_lms": _delete("ori_imgs/{}.lms"),
    "no_parsing": _delete("parsing/{}.png"),
    "no_gt_img": _delete("gt_imgs/{}.jpg"),
    "no_torso_img": _delete("torso_imgs/{}.png"),
    "no_focal": _drop_key("focal_len"),
    "no_cx": _drop_key("cx"),
    "no_cy": _drop_key("cy", split="val"),
    "no_frames": _drop_key("frames"),
    "frame_no_img_id": _drop_frame_key("img_id"),
    "frame_no_aud_id": _drop_frame_key("aud_id"),
    "frame_no_matrix": _drop_frame_key("transform_matrix"),
    "matrix_not_4x4": _bad_matrix,
    "malformed_json": _malformed_json,
    "frame_without_images": _frame_without_images,
    "lms_67_rows": _lms_shape(67, 2),
    "lms_3_columns": _lms_shape(68, 3),
    "few_audio_rows": _few_audio_rows,
    "audio_layout": _audio_layout,
    "audio_file_absent": _missing_audio_file,
    "au_no_column": _au_without_column,
    "au_few_rows": _au_few_rows,
    "au_absent": _au_missing,
    "parsing_colours": _parsing_colours,
    "size_gt": _resize("gt_imgs/{}.jpg"),
    "size_ori": _resize("ori_imgs/{}.jpg"),
    "size_parsing": _resize("parsing/{}.png"),
    "size_torso": _resize("torso_imgs/{}.png"),
    "size_bc": _resize("bc.jpg"),
    "torso_no_alpha": _torso_without_alpha,
}


@pytest.fixture(params=sorted(BREAKAGES))
def broken(request, folder_copy):
    """A copy of the studio folder broken one way: (root, validate kwargs, file, message)."""
    kwargs, rel_path, pattern = BREAKAGES[request.param](folder_copy)
    return folder_copy, kwargs, rel_path, pattern


def test_valid_folder_has_no_problems(studio_folder):
    assert validate_folder(studio_folder) == []


def test_each_breakage_is_named(broken):
    root, kwargs, rel_path, pattern = broken
    problems = validate_folder(root, **kwargs)
    assert problems, "the validator missed the breakage"
    hits = [p for p in problems if rel_path in p.path and rel_path in p.message]
    assert hits, f"no problem names {rel_path}: {[p.message for p in problems]}"
    assert any(re.search(pattern, p.message) for p in hits), [p.message for p in hits]
    for p in hits:
        assert p.found and p.expected and str(p) == p.message


def test_dataset_raises_before_training_listing_all(folder_copy):
    i = first_img_id(folder_copy)
    (folder_copy / f"gt_imgs/{i}.jpg").unlink()
    (folder_copy / "bc.jpg").unlink()
    np.savetxt(folder_copy / f"ori_imgs/{i}.lms", np.ones((5, 2)))
    with pytest.raises(FolderValidationError) as info:
        TalkingHeadFolder(folder_copy, progress=False)
    err = info.value
    assert len(err.problems) == 3
    text = str(err)
    for fragment in (f"gt_imgs/{i}.jpg", "bc.jpg", f"ori_imgs/{i}.lms", "3 problem(s)"):
        assert fragment in text


def test_many_missing_files_are_summarised(folder_copy):
    shutil.rmtree(folder_copy / "gt_imgs")
    (folder_copy / "gt_imgs").mkdir()
    n = len(_frame_ids(folder_copy))
    problems = validate_folder(folder_copy)
    named = [p for p in problems if p.kind == "missing_file"]
    more = [p for p in problems if p.kind == "more"]
    assert len(named) == 5 and len(more) == 1
    assert f"and {n - 5} more files" in more[0].message and "gt_imgs" in more[0].path


def test_parsing_antialiasing_within_tolerance_passes(folder_copy):
    i = first_img_id(folder_copy)
    path = folder_copy / f"parsing/{i}.png"
    rgb = np.array(Image.open(path).convert("RGB")).copy()
    rgb[0, :3] = (128, 128, 255)  # 3 blended edge pixels, far below the 2% tolerance
    Image.fromarray(rgb).save(path)
    assert validate_folder(folder_copy) == []


def test_au_leading_space_either_way_passes(folder_copy):
    ids = _frame_ids(folder_copy)
    for leading in (True, False):
        write_au_csv(folder_copy, {i: 0.1 for i in ids}, leading_space=leading)
        assert validate_folder(folder_copy, eye_source="au45") == []


def test_auto_eye_source_needs_no_au(folder_copy):
    (folder_copy / "au.csv").unlink(missing_ok=True)
    assert validate_folder(folder_copy, eye_source="auto") == []


def test_unknown_settings_raise():
    with pytest.raises(ValueError, match="eye_source"):
        validate_folder(".", eye_source="blink")
