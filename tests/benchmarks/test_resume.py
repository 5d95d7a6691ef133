"""benchmarks/harness/workers.py: ``--resume`` reuses the rows a stopped run finished."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import common  # noqa: E402
from harness.workers import finished_row, resume_refusal, run_methods  # noqa: E402


def _finished(work: Path, data: Path, method: dict, psnr: float) -> None:
    ws = work / f"ws_{method['key'].lower().replace(' ', '_')}"
    ws.mkdir(parents=True)
    (ws / "run.json").write_text(json.dumps({"data": str(data)}))
    row = dict(method, method=method["name"], workspace=str(ws), eval={"psnr": psnr},
               package_tree=TREE)  # fmt: skip
    (work / f"row_{ws.name[3:]}.json").write_text(json.dumps(row))


TREE = "ab" * 20  # the package source's git tree, as package_tree() gives it in a clean checkout


def test_a_finished_row_is_reused_only_for_the_same_configs_bindings_and_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(common, "package_tree", lambda: TREE)
    data, work = tmp_path / "id000", tmp_path / "work"
    m = {"name": "O", "key": "O seed 1", "configs": ["configs/er_nerf.gin"],
         "bindings": ["SEED = 1"]}  # fmt: skip
    _finished(work, data, m, 27.5)
    assert finished_row(m, work, data)["eval"]["psnr"] == 27.5
    assert resume_refusal(m, work, data) is None
    assert finished_row(dict(m, bindings=["SEED = 2"]), work, data) is None
    # why a row is not reused, printed before it is trained again
    assert resume_refusal(dict(m, bindings=["SEED = 2"]), work, data) == (
        "other bindings (['SEED = 1'])"
    )
    assert resume_refusal(m, work, tmp_path / "another") == (
        f"trained on {data}, not {(tmp_path / 'another').resolve()}"
    )
    assert resume_refusal(dict(m, key="O seed 2"), work, data) is None  # no row: nothing to say
    assert finished_row(dict(m, configs=["configs/rad_nerf.gin"]), work, data) is None
    assert finished_row(m, work, tmp_path / "another") is None
    assert finished_row(dict(m, key="O seed 2"), work, data) is None  # never trained
    row = work / "row_o_seed_1.json"
    old = json.loads(row.read_text())
    for code in (None, "0" * 40, "unknown", f"{TREE}+dirty"):  # other or unknown code
        row.write_text(json.dumps(dict(old, package_tree=code)))
        assert finished_row(m, work, data) is None
        assert resume_refusal(m, work, data) == f"package source {code}, now {TREE}"
    row.write_text(json.dumps(old))
    # the same folder reached through a symlink (the workspace records it resolved)
    (tmp_path / "link").symlink_to(data, target_is_directory=True)
    data.mkdir(exist_ok=True)
    assert finished_row(m, work, tmp_path / "link")["eval"]["psnr"] == 27.5
    # every method finished: nothing is trained, the rows come back marked as resumed
    rows = run_methods([m], data, work, resume=True)
    assert rows[0]["resumed"] is True and rows[0]["eval"]["psnr"] == 27.5

    # a row trained before its table took --seeds lacks seed 0's SEED = 0 (base.gin's value):
    # the same run, reused; any other seed is not
    plain = {"name": "ER", "key": "ER", "configs": ["configs/er_nerf.gin"], "bindings": ["A = 1"]}
    _finished(work, data, plain, 29.0)
    assert finished_row(dict(plain, bindings=["A = 1", "SEED = 0"]), work, data) is not None
    assert finished_row(dict(plain, bindings=["A = 1", "SEED = 1"]), work, data) is None
    assert finished_row(dict(plain, bindings=["A = 2", "SEED = 0"]), work, data) is None


def test_the_package_tree_covers_every_folder_pip_installs():
    import re

    assert common.PACKAGE_DIRS == ("lokitalk_plugins", "adapters", "baselines")
    code = common.package_tree()  # a checkout: three tree hashes; an sdist: unknown
    assert code == "unknown" or re.fullmatch(r"[0-9a-f]{40}(\.[0-9a-f]{40}){2}(\+dirty)?", code)


def test_methods_train_seed_by_seed_and_rows_come_back_in_their_order(tmp_path, monkeypatch):
    from harness import workers

    started = []

    def pool(tasks, parallel):  # stands in for the process pool: writes each task's row
        for label, _fn, (m, _data, _ws, row, _truth) in tasks:
            started.append(label)
            Path(row).write_text(json.dumps({"method": m["name"], "key": m["key"]}))

    monkeypatch.setattr(workers, "run_pool", pool)
    methods = [{"name": n, "key": n if k == 0 else f"{n} seed {k}", "seed": k}
               for n in ("O", "O+D") for k in (0, 1, 2)]  # fmt: skip
    methods.append({"name": "O, 32 samples a ray", "key": "O, 32 samples a ray", "seed": 0})
    rows = run_methods(methods, tmp_path / "id000", tmp_path / "work")
    assert started == ["training O", "training O+D", "training O, 32 samples a ray",
                       "training O seed 1", "training O+D seed 1", "training O seed 2",
                       "training O+D seed 2"]  # fmt: skip
    assert [r["key"] for r in rows] == [m["key"] for m in methods]


def test_a_reused_row_scored_over_another_background_is_scored_again(tmp_path, monkeypatch):
    from harness import workers

    monkeypatch.setattr(common, "package_tree", lambda: TREE)
    data, work = tmp_path / "id000", tmp_path / "work"
    head = {"name": "DH-NeRF", "key": "DH", "configs": ["a.gin"], "bindings": [],
            "val_background": "torso"}  # fmt: skip
    plain = {"name": "ER-NeRF", "key": "ER", "configs": ["b.gin"], "bindings": []}
    for m in (head, plain):  # rows an earlier run scored over bc (no val_background kept)
        _finished(work, data, {k: v for k, v in m.items() if k != "val_background"}, 20.0)
    scored = []

    def score(method, data_, workspace, truth):
        scored.append(method["key"])
        return {"psnr": 27.0, "over": workers.val_background(method)}

    monkeypatch.setattr(workers, "evaluate_workspace", score)
    inline = lambda tasks, parallel: [fn(*args) for _label, fn, args in tasks]  # noqa: E731
    monkeypatch.setattr(workers, "run_pool", inline)
    rows = run_methods([head, plain], data, work, resume=True)
    assert scored == ["DH"]  # the training stands; only the scoring follows the method
    assert rows[0]["eval"] == {"psnr": 27.0, "over": "torso"} and rows[0]["resumed"]
    assert rows[0]["val_background"] == "torso" and rows[0]["workspace"].endswith("ws_dh")
    assert rows[1]["eval"] == {"psnr": 20.0} and rows[1]["resumed"]
    again = run_methods([head, plain], data, work, resume=True)  # now it matches: kept as is
    assert scored == ["DH"] and again[0]["eval"]["over"] == "torso"


def test_run_seeded_returns_the_seeded_methods_their_rows_and_what_was_reused(
    tmp_path, monkeypatch
):
    from harness.workers import run_seeded

    monkeypatch.setattr(common, "package_tree", lambda: TREE)
    data, work = tmp_path / "id000", tmp_path / "work"
    m = {"name": "O", "configs": ["configs/er_nerf.gin"], "bindings": []}
    for seed, psnr in ((0, 27.0), (1, 28.0)):  # both seeds finished by a stopped run
        key = "O" if seed == 0 else f"O seed {seed}"
        _finished(work, data, dict(m, key=key, bindings=[f"SEED = {seed}"]), psnr)
    runs, rows, resumed = run_seeded([m], 2, data, work, resume=True)
    assert [r["key"] for r in runs] == ["O", "O seed 1"] and resumed == ["O", "O seed 1"]
    assert [r["eval"]["psnr"] for r in rows] == [27.0, 28.0]
    # an ablation row: its own number of seeds (once unless named) and its record on its rows
    abl = dict(m, name="O torso2d", ablation={"claims": ["t2_d"], "baseline": "O"})
    for key, seed in (("O torso2d", 0), ("O torso2d seed 1", 1)):
        _finished(work, data, dict(abl, key=key, bindings=[f"SEED = {seed}"]), 26.0 + seed)
    runs, rows, _ = run_seeded([m, abl], 2, data, work, resume=True)
    assert [r["key"] for r in runs] == ["O", "O seed 1", "O torso2d"]
    assert rows[2]["ablation"] == abl["ablation"] and "ablation" not in rows[0]
    runs, rows, _ = run_seeded([m, abl], 2, data, work, resume=True,
                               ablation_seeds={"O torso2d": 2})  # fmt: skip
    assert [r["key"] for r in runs][2:] == ["O torso2d", "O torso2d seed 1"]
    assert [r["eval"]["psnr"] for r in rows][2:] == [26.0, 27.0]


class _Trained(Exception):
    """Raised by a stand-in for the process pool: run_methods got as far as training."""


def test_a_row_of_other_settings_is_not_replaced_without_force(tmp_path, monkeypatch):
    from harness import workers

    monkeypatch.setattr(common, "package_tree", lambda: TREE)
    data, work = tmp_path / "id000", tmp_path / "work"
    m = {"name": "O", "key": "O seed 1", "configs": ["configs/er_nerf.gin"],
         "bindings": ["SEED = 1"]}  # fmt: skip
    _finished(work, data, m, 27.5)
    other = dict(m, bindings=["SEED = 1", "A = 2"])
    assert workers.replaced_rows([other, dict(m, key="O seed 2")], work, data) == [
        ("O seed 1", "other bindings (['SEED = 1'])")
    ]

    def pool(tasks, parallel):
        raise _Trained([t[0] for t in tasks])

    monkeypatch.setattr(workers, "run_pool", pool)
    for resume in (False, True):
        with pytest.raises(SystemExit) as e:
            run_methods([other], data, work, resume=resume)
        lines = str(e.value).splitlines()
        assert len(lines) == 2 and lines[0] == (
            f"--work {work}: the row of 'O seed 1' an earlier run trained differs from this "
            "run's (other bindings (['SEED = 1'])); training again would replace it."
        )
        assert lines[1].endswith("pass --force to replace such rows, or give another --work")
        assert ("--resume reuses only rows that match" in lines[1]) is not resume
    assert (work / "row_o_seed_1.json").is_file()  # refused before anything was removed
    # --force trains it; so does a run of the same settings (it reproduces its row), and a
    # workspace a stopped run left without a row is no row to keep
    with pytest.raises(_Trained, match="training O seed 1"):
        run_methods([other], data, work, force=True)
    _finished(work, data, m, 27.5)
    with pytest.raises(_Trained, match="training O seed 1"):
        run_methods([m], data, work)
    (work / "ws_o_seed_3").mkdir()
    with pytest.raises(_Trained, match="training O seed 3"):
        run_methods([dict(m, key="O seed 3", bindings=["SEED = 3"])], data, work)
    # a row of the same committed trees with local edits, or of an unknown source, is trained
    # again (someone iterating on the code); another committed source is refused
    _finished(work, data, m, 27.5)
    row = work / "row_o_seed_1.json"
    for recorded, refused in ((f"{TREE}+dirty", False), ("unknown", False), (None, False),
                              ("cd" * 20, True)):  # fmt: skip
        row.write_text(json.dumps(dict(json.loads(row.read_text()), package_tree=recorded)))
        assert bool(workers.replaced_rows([m], work, data)) is refused, recorded
    monkeypatch.setattr(common, "package_tree", lambda: f"{TREE}+dirty")
    row.write_text(json.dumps(dict(json.loads(row.read_text()), package_tree=TREE)))
    assert workers.replaced_rows([m], work, data) == []
    monkeypatch.setattr(common, "package_tree", lambda: TREE)
    shutil.rmtree(work / "ws_o_seed_1")
    row.unlink()
    # two rows of other settings: the first is named, the count of the rest given
    _finished(work, data, m, 27.5)  # the runs above removed it before their (stand-in) pool
    two = [dict(other), dict(m, key="O seed 4")]
    _finished(work, data, two[1], 20.0)
    two[1] = dict(two[1], bindings=["SEED = 4"])
    with pytest.raises(SystemExit, match=r"the row of 'O seed 1' \(and 1 more\)"):
        run_methods(two, data, work)


def test_run_py_offers_force(capsys):
    import run

    with pytest.raises(SystemExit):
        run.main(["table2", "--help"])
    assert "--force" in capsys.readouterr().out
