"""benchmarks/harness/data_sources.py: which identities a table trains, scores and pre-trains
on, and the clear refusals for folders that cannot work together."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness.data_sources import STUDIO_AUDIO_DIM, audio_in_dim, resolve_data  # noqa: E402

PROF = {"size": 32, "seconds": 1.0, "aux_seconds": 1.0}


def _folder(path: Path, k: int, frames: int = 4) -> Path:
    path.mkdir(parents=True)
    for split in ("train", "val"):
        (path / f"transforms_{split}.json").write_text(json.dumps({"frames": []}))
    np.save(path / "aud.npy", np.zeros((frames, 16, k), np.float32))
    return path


def test_user_folders_give_the_scored_folder_and_pre_training_ones(tmp_path):
    a, b, c = (_folder(tmp_path / n, 29) for n in ("a", "b", "c"))
    src = resolve_data([str(a), str(b), str(c)], tmp_path / "work", PROF)
    assert not src.studio and src.data == a.resolve() and src.aux == [b.resolve(), c.resolve()]
    assert src.audio_dim == 29 and src.suffix == "_a" and src.label == str(a.resolve())
    assert src.pretrain_folders(tmp_path / "work", 10, PROF) == [b.resolve(), c.resolve()]
    assert src.pretrain_folders(tmp_path / "work", 1, PROF) == [b.resolve()]
    assert src.pretrain_label(10) == "2 of the given folders (2 given)"
    # caches are private to the folders given
    other = resolve_data([str(a), str(b)], tmp_path / "work", PROF)
    assert other.work_dir(tmp_path, "bundles") != src.work_dir(tmp_path, "bundles")
    assert src.work_dir(tmp_path, "bundles").parent == tmp_path


def test_refusals_say_what_to_do(tmp_path):
    a, b = _folder(tmp_path / "a", 29), _folder(tmp_path / "b", 1024)
    with pytest.raises(SystemExit, match="same audio features"):
        resolve_data([str(a), str(b)], tmp_path, PROF)
    with pytest.raises(SystemExit, match="lokitalk validate"):
        resolve_data([str(tmp_path / "missing")], tmp_path, PROF)
    with pytest.raises(SystemExit, match="'studio' alone"):
        resolve_data(["studio", str(a)], tmp_path, PROF)
    with pytest.raises(SystemExit, match="both the identity to score"):
        resolve_data([str(a), str(a)], tmp_path, PROF)
    # no pre-training folders and audio channels unlike the studio's: cannot use the studio
    alone = resolve_data([str(a)], tmp_path, PROF)
    assert alone.audio_dim != STUDIO_AUDIO_DIM
    with pytest.raises(SystemExit, match="--data DIR AUX1 AUX2"):
        alone.pretrain_folders(tmp_path, 3, PROF)


def test_studio_source(tmp_path):
    src = resolve_data(["studio"], tmp_path, PROF)
    assert src.studio and src.suffix == "" and audio_in_dim(src.data) == STUDIO_AUDIO_DIM
    assert src.data == tmp_path / "studio_32px_1s" / "id000"
    assert (src.data / "aud.npy").is_file() and src.work_dir(tmp_path, "b") == tmp_path / "b"
    folders = src.pretrain_folders(tmp_path, 1, PROF)
    assert [f.name for f in folders] == ["id001"] and src.pretrain_label(1).startswith("studio")


def test_a_users_folder_gets_its_own_portrait_box(tmp_path):
    """The harness binds lokitalk_loss.gin's PORTRAIT_AABB / PORTRAIT_BOUND (run_bindings) to
    the box derived from a user's folder (none for the studio); the built model marches
    through it."""
    import gin

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.data.portrait import portrait_box
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.train.config import parse_config_files

    folder = write_identity(tmp_path / "clip", identity=2, seconds=1.0, size=32)
    from harness.experiments import run_bindings

    assert resolve_data(["studio"], tmp_path / "work", PROF).portrait_box() is None
    box = resolve_data([str(folder)], tmp_path / "work", PROF).portrait_box()
    assert box == portrait_box(folder)
    binds = run_bindings(portrait_box=box)
    assert binds == [f"PORTRAIT_AABB = {box}", f"PORTRAIT_BOUND = {binds[1].split()[-1]}"]
    files = ["configs/er_nerf.gin", "configs/lokitalk_loss.gin"]
    parse_config_files(files, binds + ["ERNeRF.grid_size = 16", "ERNeRF.ind_num = 4"])
    try:
        model = gin.query_parameter("TalkingHeadSystem.model").scoped_configurable_fn()
    finally:
        gin.clear_config()
    assert tuple(model.grid.aabb_train.tolist()) == pytest.approx(box)
    assert model.bound == float(binds[1].split()[-1]) >= max(abs(v) for v in box)


def test_studio_with_frequent_blinks_is_its_own_source(tmp_path):
    """--studio-blinks: the studio identity with blinks LO-HI s apart, in its own folder, with
    its own caches and result-file suffix, so the tables' studio is never touched."""
    from lokitalk_plugins.data.studio import load_truth

    src = resolve_data(["studio"], tmp_path, PROF, (0.5, 1.5))
    assert src.studio and src.data == tmp_path / "studio_32px_1s_blinks0.5-1.5" / "id000"
    assert src.suffix == "_blinks0.5-1.5" and "blinks every 0.5-1.5 s" in src.label
    assert src.work_dir(tmp_path, "a2m") == tmp_path / "a2m_blinks0.5-1.5"
    assert load_truth(src.data).meta["blink_gap"] == [0.5, 1.5]
    assert not (tmp_path / "studio_32px_1s").exists()
    a = _folder(tmp_path / "a", 29)
    with pytest.raises(SystemExit, match="--studio-blinks: only with --data studio"):
        resolve_data([str(a)], tmp_path, PROF, (0.5, 1.5))


def test_studio_with_the_torso_following_the_head_is_its_own_source(tmp_path):
    """--studio-torso-follow K: its own folder, caches and result-file suffix; with blinks too,
    both tags."""
    from lokitalk_plugins.data.studio import load_truth

    src = resolve_data(["studio"], tmp_path, PROF, None, 0.5)
    assert src.data == tmp_path / "studio_32px_1s_torso0.5" / "id000"
    assert src.suffix == "_torso0.5" and "the torso following the head 0.5 of the way" in src.label
    assert load_truth(src.data).meta["torso_follow"] == 0.5
    assert "blink_gap" not in load_truth(src.data).meta
    both = resolve_data(["studio"], tmp_path, PROF, (0.5, 1.5), 1.0)
    assert both.suffix == "_blinks0.5-1.5_torso1" and both.data.parent.name.endswith(both.suffix)
    assert not (tmp_path / "studio_32px_1s").exists()
    a = _folder(tmp_path / "a", 29)
    with pytest.raises(SystemExit, match="--studio-torso-follow: only with --data studio"):
        resolve_data([str(a)], tmp_path, PROF, None, 0.5)


def test_run_py_studio_torso_follow_is_table2_only(tmp_path, capsys):
    import run

    with pytest.raises(SystemExit):
        run.main(["table3", "--studio-torso-follow", "0.5", "--out", str(tmp_path)])
    assert "--studio-torso-follow: only for table2" in capsys.readouterr().err
    with pytest.raises(SystemExit, match=r"--studio-torso-follow: expected a number in \[0, 1\]"):
        run.main(["table2", "--profile", "micro", "--studio-torso-follow", "1.5",
                  "--out", str(tmp_path), "--work", str(tmp_path / "w")])  # fmt: skip
    assert not (tmp_path / "w").exists()


def test_run_py_studio_blinks_is_table2_only(tmp_path, capsys):
    import run

    with pytest.raises(SystemExit):
        run.main(["table1", "--studio-blinks", "0.5", "1.5", "--out", str(tmp_path)])
    assert "--studio-blinks: only for table2" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--studio-blinks: expected 0 < lo <= hi"):
        run.main(["table2", "--profile", "micro", "--studio-blinks", "2", "1",
                  "--out", str(tmp_path), "--work", str(tmp_path / "w")])  # fmt: skip
    assert not (tmp_path / "w").exists()


def test_studio_with_the_light_on_the_head_is_its_own_source(tmp_path, capsys):
    """--studio-light-frame head: its own folder, caches and result-file suffix; refused for a
    user's folders and outside table2."""
    import run

    from lokitalk_plugins.data.studio import load_truth

    src = resolve_data(["studio"], tmp_path, PROF, None, None, "head")
    assert src.data == tmp_path / "studio_32px_1s_headlight" / "id000"
    assert src.suffix == "_headlight" and "the key light attached to the head" in src.label
    assert load_truth(src.data).meta["light_frame"] == "head"
    assert resolve_data(["studio"], tmp_path, PROF, None, None, "camera").suffix == ""
    a = _folder(tmp_path / "a", 29)
    with pytest.raises(SystemExit, match="--studio-light-frame: only with --data studio"):
        resolve_data([str(a)], tmp_path, PROF, None, None, "head")
    with pytest.raises(SystemExit):
        run.main(["table1", "--studio-light-frame", "head", "--out", str(tmp_path)])
    assert "--studio-light-frame: only for table2" in capsys.readouterr().err
