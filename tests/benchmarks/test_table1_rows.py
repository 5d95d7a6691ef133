"""benchmarks/run.py table1 --methods (train and report only some rows) and Table 1's ablation
of the ER-NeRF row in LokiTalk's portrait box."""

from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import table1, table2  # noqa: E402

BOX = "ER-NeRF in LokiTalk's portrait box"


def test_chosen_rows_keep_the_table_order_and_refuse_unknown_names():
    assert table1.chosen_rows(None, False) == ["RAD-NeRF", "ER-NeRF", "LokiTalk"]
    assert table1.chosen_rows(None, True) == ["RAD-NeRF", "ER-NeRF", "LokiTalk",
                                              *table1.ABLATIONS]  # fmt: skip
    assert table1.chosen_rows([BOX, "ER-NeRF"], True) == ["ER-NeRF", BOX]
    with pytest.raises(ValueError, match=r"--methods: no row named \[\"ER-NeRF in.*needs --abl"):
        table1.chosen_rows([BOX], False)
    with pytest.raises(ValueError, match=r"no row named \['O\+D'\] in table1; its rows are"):
        table1.chosen_rows(["O+D"], False)
    assert [table1.needs_bundle(n) for n in table1.chosen_rows(None, True)] == [
        False, False, True, True, False, True, False, True, True, False, True]  # fmt: skip


def test_without_a_bundle_the_lokitalk_row_is_left_out():
    run = ["AUDIO_IN_DIM = 32"]
    assert [m["name"] for m in table1.methods("micro", None, run)] == ["RAD-NeRF", "ER-NeRF"]
    with_bundle = table1.methods("micro", "/bundle", run)
    assert [m["name"] for m in with_bundle] == ["RAD-NeRF", "ER-NeRF", "LokiTalk"]
    assert with_bundle[-1]["bindings"][-1] == "BUNDLE = '/bundle'"


def test_the_portrait_box_ablation_changes_only_the_er_nerf_box():
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    run = experiments.run_bindings(audio_in_dim=32, portrait_box=(-1.4, -0.5, -1.2, 1, 0.9, 1.2))
    methods = table1.methods("micro", None, run)
    rows = table2.ablation_methods(methods, table1.ABLATIONS, table1.ABLATION_CLAIMS)
    assert [r["name"] for r in rows] == [
        BOX,
        "ER-NeRF, 32 samples a ray",
        "ER-NeRF, alpha entropy 1e-2",
    ]  # no bundle: no LokiTalk
    (row,) = [r for r in rows if r["name"] == BOX]
    base = methods[1]
    assert row["name"] == BOX and base["name"] == "ER-NeRF"
    assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
    assert row["ablation"] == {"claims": ["t1_psnr_er", "t1_target"],
                               "isolates": table1.PORTRAIT_BOX, "baseline": "ER-NeRF"}  # fmt: skip
    keys = ("ERNeRF.aabb", "ERNeRF.bound", "ERNeRF.torso", "train.stages",
            "TalkingHeadFolder.background")  # fmt: skip

    def query(key):
        try:
            return gin.query_parameter(key)
        except ValueError:  # not bound: the class's default
            return "unbound"

    got = {}
    for m in (base, row):
        parse_config_files([experiments.resolve(c) for c in m["configs"]], m["bindings"])
        try:
            got[m["name"]] = {k: query(k) for k in keys}
            if m is row:  # the macros resolve to the run's box
                got["macros"] = (gin.query_parameter("PORTRAIT_AABB/macro.value"),
                                 gin.query_parameter("PORTRAIT_BOUND/macro.value"))  # fmt: skip
        finally:
            gin.clear_config()
    a, b = got["ER-NeRF"], got[BOX]
    assert a.pop("ERNeRF.aabb") == a.pop("ERNeRF.bound") == "unbound"  # the head box
    assert (str(b.pop("ERNeRF.aabb")), str(b.pop("ERNeRF.bound"))) == (
        "%PORTRAIT_AABB", "%PORTRAIT_BOUND")  # fmt: skip
    assert a == b and a["train.stages"] == ("head", "lips", "torso")  # the rest stays
    assert got["macros"] == ((-1.4, -0.5, -1.2, 1.0, 0.9, 1.2), 1.5)


def test_the_backbone_audio_ablation_turns_the_static_canonical_space_off():
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    run = experiments.run_bindings(audio_in_dim=32, portrait_box=(-1.4, -0.5, -1.2, 1, 0.9, 1.2))
    methods = table1.methods("micro", "/bundle", run)
    rows = table2.ablation_methods(methods, table1.ABLATIONS, table1.ABLATION_CLAIMS)
    (row,) = [r for r in rows if r["name"] == "LokiTalk, backbone keeps its audio"]
    base = methods[-1]
    assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
    assert row["ablation"]["baseline"] == "LokiTalk"
    assert row["ablation"]["claims"] == ["t1_psnr_er", "t1_psnr_rad", "t1_target"]
    got = []
    for m in (base, row):
        parse_config_files([experiments.resolve(c) for c in m["configs"]], m["bindings"])
        try:
            got.append([gin.query_parameter(k) for k in (
                "wrap.pretrained", "train.stages", "ERNeRF.bound")])  # fmt: skip
            try:
                got[-1].append(gin.query_parameter("wrap.static_canonical"))
            except ValueError:  # unbound: wrap's default, the static canonical space
                got[-1].append("default")
        finally:
            gin.clear_config()
    assert got[0][:3] == got[1][:3] and str(got[0][0]) == "%BUNDLE"
    assert (got[0][3], got[1][3]) == ("default", False)


def _lokitalk_rows():
    """Table 1's rows with a bundle and their ablations, with the studio's box bound."""
    from harness import experiments

    run = experiments.run_bindings(audio_in_dim=32, portrait_box=(-1.4, -0.5, -1.2, 1, 0.9, 1.2))
    methods = table1.methods("micro", "/bundle", run)
    return methods, table2.ablation_methods(methods, table1.ABLATIONS, table1.ABLATION_CLAIMS)


def _settings(method: dict, keys) -> dict:
    """The gin bindings ``keys`` of a row's files and bindings, as strings ("unbound": the
    class's default)."""
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    parse_config_files([experiments.resolve(c) for c in method["configs"]], method["bindings"])
    try:
        out = {}
        for k in keys:
            try:
                out[k] = str(gin.query_parameter(k))
            except ValueError:  # unbound: the default
                out[k] = "unbound"
        return out
    finally:
        gin.clear_config()


def test_the_samples_ablation_doubles_the_cap_of_both_rows_and_nothing_else():
    methods, rows = _lokitalk_rows()
    keys = ("TalkingHeadSystem.max_samples", "train.stages", "ERNeRF.bound",
            "TalkingHeadFolder.background", "wrap.pretrained")  # fmt: skip
    for base_name in ("ER-NeRF", "LokiTalk"):
        (row,) = [r for r in rows if r["name"] == f"{base_name}, 32 samples a ray"]
        (base,) = [m for m in methods if m["name"] == base_name]
        assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
        want = {"claims": ["t1_psnr_er", "t1_target"], "isolates": table1.SAMPLES_32,
                "baseline": base_name}  # fmt: skip
        assert row["ablation"] == want
        a, b = _settings(base, keys), _settings(row, keys)
        assert a.pop("TalkingHeadSystem.max_samples") == "unbound"  # the system's 16
        assert b.pop("TalkingHeadSystem.max_samples") == "32"
        assert a == b
    import inspect

    from lokitalk_plugins.pipeline.system import TalkingHeadSystem

    assert inspect.signature(TalkingHeadSystem).parameters["max_samples"].default == 16


def test_the_plain_mse_ablation_drops_the_region_weights_and_nothing_else():
    methods, rows = _lokitalk_rows()
    (row,) = [r for r in rows if r["name"] == "LokiTalk, plain MSE"]
    base = methods[-1]
    assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
    assert row["ablation"] == {"claims": ["t1_psnr_er", "t1_target"],
                               "isolates": table1.PLAIN_MSE, "baseline": "LokiTalk"}  # fmt: skip
    keys = ("TalkingHeadSystem.region_weights", "train.stages", "ERNeRF.bound",
            "TalkingHeadFolder.background", "wrap.pretrained", "LateLPIPS.weight")  # fmt: skip
    a, b = _settings(base, keys), _settings(row, keys)
    assert "'lips': 2.0" in a.pop("TalkingHeadSystem.region_weights")
    assert b.pop("TalkingHeadSystem.region_weights") == "None"
    assert a == b


def test_the_entropy_ablation_raises_the_alpha_entropy_weight_of_both_rows_and_nothing_else():
    methods, rows = _lokitalk_rows()
    keys = ("TalkingHeadSystem.entropy_weight", "TalkingHeadSystem.max_samples", "train.stages",
            "ERNeRF.bound", "TalkingHeadFolder.background", "wrap.pretrained")  # fmt: skip
    for base_name in ("ER-NeRF", "LokiTalk"):
        (row,) = [r for r in rows if r["name"] == f"{base_name}, alpha entropy 1e-2"]
        (base,) = [m for m in methods if m["name"] == base_name]
        assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
        assert row["ablation"] == {
            "claims": ["t1_psnr_er", "t1_psnr_rad", "t1_target"],
            "isolates": table1.ENTROPY,
            "baseline": base_name,
        }
        a, b = _settings(base, keys), _settings(row, keys)
        assert a.pop("TalkingHeadSystem.entropy_weight") == "unbound"  # the system's 1e-4
        assert b.pop("TalkingHeadSystem.entropy_weight") == "0.01"
        assert a == b
    import inspect

    from lokitalk_plugins.pipeline.system import TalkingHeadSystem

    assert inspect.signature(TalkingHeadSystem).parameters["entropy_weight"].default == 1e-4


def test_a_bad_methods_is_refused_before_anything_is_made(tmp_path):
    from harness.runner_table1 import run_table1

    args = Namespace(methods=[BOX], ablations=False, work=str(tmp_path / "work"))
    with pytest.raises(SystemExit, match="needs --ablations"):
        run_table1(args, {}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_the_markdown_splits_psnr_by_region_and_says_when_the_ratio_is_not_measured():
    def row(name, head):
        m = dict.fromkeys(("psnr", "lpips", "lmd", "lmd_eyes", "mouth_error", "eye_error",
                           "fps", "size_mb", "psnr_torso", "psnr_bg"), 1.0)  # fmt: skip
        m.update(train_minutes=1.0, sync_conf=0.5, sync_offset=0, psnr_head=head)
        return {"method": name, "metrics": m, "metrics_std": {"psnr_head": 0.25}, "eval": {}}

    report = {
        "data_label": "the studio", "profile": "micro", "command": "python benchmarks/run.py",
        "commit": "0" * 40, "load_at_start": 0.1, "seeds": [0, 1], "studio": True,
        "settings": {"size": 32, "seconds": 1.0, "head": 4, "lips": 1, "torso": 2, "rays": 8},
        "machine": {"jobs_in_parallel": 1, "cpu_count": 2, "platform": "x", "torch": "2"},
        "render_ratio_lokitalk_vs_er_nerf": None, "cross_driving": None, "bundle": None,
        "results": [row("ER-NeRF", 28.0), dict(row(BOX, 27.5), ablation={"baseline": "ER-NeRF"})],
    }  # fmt: skip
    md = table1.markdown(report)
    assert "| ER-NeRF | 28.00 ± 0.25 | 1.00 | 1.00 |" in md
    assert f"| {BOX} | 27.50 ± 0.25 | 1.00 | 1.00 |" in md
    assert "LokiTalk over ER-NeRF: n/a, the run trained only some of the rows" in md
    assert "F_a of LokiTalk" not in md  # no LokiTalk row, no F_a note
    report["render_ratio_lokitalk_vs_er_nerf"], report["bundle"] = 2.0, {"path": "b"}
    md = table1.markdown(report)
    assert "measured side by side: 2.00x" in md and "F_a of LokiTalk" in md


@pytest.mark.slow
def test_table1_methods_trains_only_the_chosen_rows_without_pre_training(tmp_path):
    """The micro profile end to end with two rows: no bundle and no Audio2Motion are made."""
    out, work = tmp_path / "out", tmp_path / "work"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "table1", "--profile", "micro",
           "--methods", "ER-NeRF", BOX, "--ablations", "--out", str(out), "--work", str(work),
           "--parallel", "1"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "table1_micro.json").read_text())
    assert [r["method"] for r in report["results"]] == ["ER-NeRF", BOX]
    assert report["bundle"] is None and report["audio2motion"] is None
    assert not list(work.rglob("bundles_micro*")) and not list(work.rglob("a2m*"))
    box = report["results"][1]
    assert box["ablation"]["baseline"] == "ER-NeRF"
    assert box["configs"][-1].endswith("table1/ablations/portrait_box.gin")
    assert all(r["metrics"]["psnr_head"] is not None for r in report["results"])
    md = (out / "table1_micro.md").read_text()
    assert "| head | torso + neck | background |" in md and "n/a, the run trained only" in md


def test_the_ablation_holds_the_studios_portrait_box_as_lokitalk_loss_does():
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.configs import __file__ as configs_init
    from lokitalk_plugins.train.config import parse_config_files

    boxes = []
    for path in (experiments.resolve(table2.config("table1/ablations/portrait_box")),
                 Path(configs_init).parent / "lokitalk_loss.gin"):  # fmt: skip
        parse_config_files([path], [])
        try:
            boxes.append((gin.query_parameter("%PORTRAIT_AABB"),
                          gin.query_parameter("%PORTRAIT_BOUND")))  # fmt: skip
        finally:
            gin.clear_config()
    assert boxes[0] == boxes[1] == ((-1.4, -0.5, -1.2, 1.0, 0.9, 1.2), 1.5)
