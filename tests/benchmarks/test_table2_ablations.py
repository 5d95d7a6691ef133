"""benchmarks/harness/table2.py and table1.py --ablations: rows that isolate a missed claim's
cause."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import table2  # noqa: E402
from harness.seeds import seeded_methods  # noqa: E402


def test_ablation_rows_change_one_binding_of_their_base_row_and_train_seed_0_only():
    methods = table2.build_methods("er_nerf", "micro", ["AUDIO_IN_DIM = 32"], True)
    abl = table2.ablation_methods(methods)
    assert [m["name"] for m in abl] == [
        "O, 32 samples a ray", "O+D, 32 samples a ray", "O+D+R, 32 samples a ray",
        "O+D+R, no sample cap", "O, cap follows cut_short", "O+D, cap follows cut_short",
        "O+D+R, cap follows cut_short", "O+D, cap follows cut_short up to 32",
        "O+D+R, cap follows cut_short up to 32", "O+D, deformation grid to 64",
        "O+D, backbone keeps its audio", "O+D+R, backbone keeps its audio",
        "O+D, deformation frozen", "O, alpha entropy 1e-2", "O+D, alpha entropy 1e-2",
        "O+D+R, alpha entropy 1e-2", "O, bf16",
        "O+D+R, bf16", "O+D+R, bf16 backbone",
        "O+D+R, 32 samples a ray, bf16", "O, torso as the originals train it",
        "O+D+R, strong region losses", "O+D+R, 32 samples a ray, strong region losses",
        "O+D+R, 32 samples a ray, lambda_delta 1e-2", "O+D+R, 32 samples a ray, lambda_delta 1e-1",
        "O+D, undeformed refresh", "O+D+R, undeformed refresh",
        "O+D+R, F_a from the backbone", "O+D+R, eye value from AU45",
        "O+D+R, torso without the cascade", "O+D+R, head pose standardised",
        "O+D+R, eyes weighted 50x", "O+D+R, eyes weighted 10x", "O+D+R, fast upkeep",
        "O+D+R, fast upkeep every 16", "O+D+R, fast upkeep every 16, deformed lattice",
        "O+D+R, bf16, density float32", "O+D+R, bf16, float32 finish",
        "O, float32 start, bf16", "O+D, float32 start, bf16",
        "O+D+R, float32 start, bf16", "O+D+R, upkeep lattice", "O+D+R, upkeep bf16",
        "O+D+R, upkeep sparse", "O+D+R, upkeep every 32",
        "O, random background under the head", "O+D, random background under the head",
        "O+D+R, random background under the head", "O, random background under head and torso",
        "O+D+R, random background under head and torso",
    ]  # fmt: skip
    coarse = "JointDeformation.grid = {'desired_resolution': 64}"
    audio = "wrap.static_canonical = False"
    files = {"32 samples a ray": ("samples_32.gin", "TalkingHeadSystem.max_samples = 32"),
             "no sample cap": ("samples_uncapped.gin", "TalkingHeadSystem.max_samples = None"),
             "cap follows cut_short": ("sample_cap.gin", "configs/sample_cap.gin"),
             "cap follows cut_short up to 32": ("sample_cap_32.gin", "SampleCap.limit = 32"),
             "bf16": ("bf16.gin", "Trainer.amp = 'bf16'"),
             "bf16 backbone": ("bf16_backbone.gin", "wrap.plugins_float32 = True"),
             "32 samples a ray, bf16": ("samples_32_bf16.gin", "Trainer.amp = 'bf16'"),
             "deformation grid to 64": ("coarse_deformation.gin", coarse),
             "backbone keeps its audio": ("backbone_audio.gin", audio),
             "deformation frozen": ("deformation_frozen.gin", "wrap.train_deformation = False"),
             "alpha entropy 1e-2": ("alpha_entropy.gin",
                                    "TalkingHeadSystem.entropy_weight = 1e-2"),
             "torso as the originals train it": ("torso_2d.gin", "RADNeRF.aabb = None"),
             "strong region losses": ("region_losses.gin", "wrap.lambda_delta = 1e-2"),
             "32 samples a ray, strong region losses": ("samples_32_region_losses.gin",
                                                        "wrap.lambda_delta = 1e-2"),
             "32 samples a ray, lambda_delta 1e-2": ("samples_32_delta_1e-2.gin",
                                                     "wrap.lambda_delta = 1e-2"),
             "32 samples a ray, lambda_delta 1e-1": ("samples_32_region_delta_1e-1.gin",
                                            "wrap.lambda_delta = 1e-1"),
             "undeformed refresh": ("undeformed_refresh.gin", "GridUpkeep.deformed = False"),
             "F_a from the backbone": ("f_a_backbone.gin", "wrap.audio2motion = None"),
             "eye value from AU45": ("eye_au45.gin", "TalkingHeadFolder.eye_source = 'au45'"),
             "torso without the cascade": ("torso_no_cascade.gin", "RSDF.torso_cascade = False"),
             "head pose standardised": ("pose_norm.gin", "RSDF.pose_norm = True"),
             "eyes weighted 50x": ("eye_weight.gin", "'eyes': 50.0"),
             "eyes weighted 10x": ("eye_weight_10.gin", "'eyes': 10.0"),
             "fast upkeep": ("fast_upkeep.gin", "configs/fast_upkeep.gin"),
             "fast upkeep every 16": ("fast_upkeep_every16.gin", "GridUpkeep.every = 16"),
             "fast upkeep every 16, deformed lattice": ("fast_upkeep_every16_lattice.gin",
                                                        "GridUpkeep.deformed_lattice = 33"),
             "bf16, density float32": ("bf16_density_float32.gin",
                                       "TalkingHeadSystem.float32_layers"),
             "bf16, float32 finish": ("bf16_float32_finish.gin", "Trainer.amp_until = 0.75"),
             "float32 start, bf16": ("bf16_float32_start.gin", "Trainer.amp_from = 0.25"),
             "upkeep lattice": ("upkeep_lattice.gin", "GridUpkeep.lattice = True"),
             "upkeep bf16": ("upkeep_bf16.gin", "GridUpkeep.precision = 'auto'"),
             "upkeep sparse": ("upkeep_sparse.gin", "GridUpkeep.mode = 'sparse'"),
             "upkeep every 32": ("upkeep_every32.gin", "GridUpkeep.every = 32"),
             "random background under the head": ("random_head_background.gin",
                                                  "TalkingHeadSystem.head_background = 'random'"),
             "random background under head and torso": (
                 "random_body_background.gin", "TalkingHeadSystem.head_background = 'random_body'"),
             }  # fmt: skip
    for m in abl:
        base = next(b for b in methods if b["name"] == m["ablation"]["baseline"])
        name, binding = files[m["name"].split(", ", 1)[1]]
        extra = f"benchmarks/gin-configs/table2/ablations/{name}"
        assert m["configs"] == [*base["configs"], extra] and m["bindings"] == base["bindings"]
        assert binding in (ROOT / extra).read_text()
        if name == "samples_32.gin":  # the cap isolates the causes of Table 2's claims
            record = m["ablation"]
            assert "t2_target" in record["claims"] and "16 -> 32" in record["isolates"]
        elif name in ("sample_cap.gin", "sample_cap_32.gin"):  # a cap following cut_short
            assert m["ablation"]["claims"] == ["t2_target", "t2_d", "t2_r"]
            assert "cut_short" in m["ablation"]["isolates"]
        elif name == "samples_uncapped.gin":  # the head's pose-dependent Δx_torso (Fig. 5)
            assert m["ablation"]["claims"] == ["fig5_dx_torso", "t2_r", "t2_target"]
            assert "16 -> none" in m["ablation"]["isolates"]
        elif name in ("coarse_deformation.gin", "deformation_frozen.gin"):  # O+D < O's causes
            assert m["ablation"]["claims"] == ["t2_d"]
        elif name in ("backbone_audio.gin", "torso_2d.gin"):  # causes of O+D < O, of +1 dB
            assert m["ablation"]["claims"] == ["t2_d", "t2_target"]
        elif name in ("region_losses.gin", "samples_32_region_losses.gin"):  # Fig. 5's shares
            assert m["ablation"]["claims"] == ["fig5_att_lip", "fig5_att_eye", "fig5_dx_torso"]
        elif name == "samples_32_delta_1e-2.gin":  # L_Δ alone, λ_att at its default
            assert (
                m["ablation"]["claims"] == ["fig5_dx_torso"]
                and "alone" in m["ablation"]["isolates"]
            )
            assert "lambda_att" not in (ROOT / extra).read_text()
        elif name == "samples_32_region_delta_1e-1.gin":  # the static Δx_torso on the head
            assert (
                m["ablation"]["claims"] == ["fig5_dx_torso"] and "1e-1" in m["ablation"]["isolates"]
            )
        elif name == "undeformed_refresh.gin":  # what the deformation-following refresh adds
            assert m["ablation"]["claims"] == ["t2_d", "t2_r", "t2_target"]
        elif name == "random_head_background.gin":  # a translucent face in every row?
            assert m["ablation"]["claims"] == ["t2_d", "t2_r", "t2_target"]
            assert "translucent face" in m["ablation"]["isolates"]
        elif name == "random_body_background.gin":  # and a translucent torso?
            assert m["ablation"]["claims"] == ["t2_r", "t2_target"]
            assert "face or torso" in m["ablation"]["isolates"]
        elif name == "alpha_entropy.gin":  # a term favouring opaque surfaces
            assert m["ablation"]["claims"] == ["t2_d", "t2_r", "t2_target"]
            assert "1e-4 -> 1e-2" in m["ablation"]["isolates"]
        elif name == "f_a_backbone.gin":  # what the Audio2Motion F_a adds
            assert m["ablation"]["claims"] == ["t2_r", "t2_target"]
        elif name == "eye_au45.gin":  # a cause of att_eye's miss (Fig. 5)
            assert m["ablation"]["claims"] == ["fig5_att_eye"]
            assert "AU45" in m["ablation"]["isolates"]
        elif name in ("torso_no_cascade.gin", "pose_norm.gin"):  # causes of dx_torso's miss
            assert m["ablation"]["claims"] == ["fig5_dx_torso"]
        elif name in ("eye_weight.gin", "eye_weight_10.gin"):  # a cause of att_eye's miss
            assert (
                m["ablation"]["claims"] == ["fig5_att_eye"] and "2 -> " in m["ablation"]["isolates"]
            )
        elif name.startswith(("fast_upkeep", "upkeep_")):  # measures a default
            # (issue 18: the faster refresh, or one of its settings), no claim's cause
            assert m["ablation"]["claims"] == [] and "every 16 steps" in m["ablation"]["isolates"]
        else:  # bf16 measures a default (issue 18), no claim's cause
            assert m["ablation"]["claims"] == [] and "bf16" in m["ablation"]["isolates"]
    runs = seeded_methods(methods + abl, 3, select=lambda m: "ablation" not in m)
    assert [r["key"] for r in runs if "ablation" in r] == [m["name"] for m in abl]
    assert len(runs) == 3 * len(methods) + len(abl)
    # without its base row an ablation is left out
    assert [m["name"] for m in table2.ablation_methods(methods[1:])] == [
        "O+D, 32 samples a ray", "O+D+R, 32 samples a ray", "O+D+R, no sample cap",
        "O+D, cap follows cut_short", "O+D+R, cap follows cut_short",
        "O+D, cap follows cut_short up to 32", "O+D+R, cap follows cut_short up to 32",
        "O+D, deformation grid to 64", "O+D, backbone keeps its audio",
        "O+D+R, backbone keeps its audio", "O+D, deformation frozen",
        "O+D, alpha entropy 1e-2", "O+D+R, alpha entropy 1e-2", "O+D+R, bf16",
        "O+D+R, bf16 backbone", "O+D+R, 32 samples a ray, bf16", "O+D+R, strong region losses",
        "O+D+R, 32 samples a ray, strong region losses",
        "O+D+R, 32 samples a ray, lambda_delta 1e-2", "O+D+R, 32 samples a ray, lambda_delta 1e-1",
        "O+D, undeformed refresh",
        "O+D+R, undeformed refresh",
        "O+D+R, F_a from the backbone", "O+D+R, eye value from AU45",
        "O+D+R, torso without the cascade", "O+D+R, head pose standardised",
        "O+D+R, eyes weighted 50x", "O+D+R, eyes weighted 10x", "O+D+R, fast upkeep",
        "O+D+R, fast upkeep every 16", "O+D+R, fast upkeep every 16, deformed lattice",
        "O+D+R, bf16, density float32", "O+D+R, bf16, float32 finish",
        "O+D, float32 start, bf16", "O+D+R, float32 start, bf16", "O+D+R, upkeep lattice",
        "O+D+R, upkeep bf16",
        "O+D+R, upkeep sparse", "O+D+R, upkeep every 32",
        "O+D, random background under the head", "O+D+R, random background under the head",
        "O+D+R, random background under head and torso",
    ]  # fmt: skip


def test_ablation_seeds_give_a_row_or_every_row_its_own_number_of_seeds():
    methods = table2.build_methods("er_nerf", "micro", ["AUDIO_IN_DIM = 32"], True)
    abl = table2.ablation_methods(methods)
    names = [m["name"] for m in abl]
    audio = "O+D, backbone keeps its audio"
    assert table2.ablation_seeds(None, names) == dict.fromkeys(names, 1)
    counts = table2.ablation_seeds(["1", f"{audio}=3"], names)
    assert counts[audio] == 3 and sum(counts.values()) == len(names) + 2
    assert table2.ablation_seeds([f"{audio}=3", "2"], names) == dict.fromkeys(names, 2)
    runs = seeded_methods(methods + abl, 3,
                          count=lambda m: counts[m["name"]] if "ablation" in m else 3)  # fmt: skip
    assert [r["key"] for r in runs if r["name"] == audio] == [
        audio, f"{audio} seed 1", f"{audio} seed 2"]  # fmt: skip
    assert [r["seed"] for r in runs if r["name"] == audio] == [0, 1, 2]
    assert "SEED = 2" in runs[[r["key"] for r in runs].index(f"{audio} seed 2")]["bindings"]
    assert len(runs) == 3 * len(methods) + len(abl) + 2
    for bad, says in [
        (["0"], ">= 1"),
        (["x"], "'x'"),
        ([f"{audio}=zero"], "ROW=K"),
        (["O+D, no such row=2"], "no ablation row named 'O+D, no such row'"),
    ]:
        with pytest.raises(ValueError, match="--ablation-seeds") as e:
            table2.ablation_seeds(bad, names)
        assert says in str(e.value)
    report = {"seeds": [0, 1, 2], "ablation_seeds": counts}
    text = table2.seeded_rows(report)
    assert text.startswith("Every row but 'O, 32 samples a ray' (seed 0 only)")
    assert audio not in text
    assert table2.seeded_rows({"seeds": [0, 1, 2]}) == "Every row"


def test_a_bad_ablation_seeds_is_refused_before_anything_is_made(tmp_path):
    from argparse import Namespace

    from harness.runners import run_table2

    args = Namespace(ablation_seeds=["O+D, no such row=3"], work=str(tmp_path / "work"))
    with pytest.raises(SystemExit, match=r"no ablation row named 'O\+D, no such row'"):
        run_table2(args, {}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backbone", ["rad_nerf", "er_nerf"])
def test_the_fig5_ablations_bind_over_their_base_row(backbone):
    """The eye-value and cascade ablations of O+D+R: their binding wins over the row's files
    (studio_quick.gin reads the eyes from the landmarks; RSDF's cascade is on by default)."""
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    methods = table2.build_methods(backbone, "micro", ["AUDIO_IN_DIM = 32"], True)
    rows = {m["name"]: m for m in table2.ablation_methods(methods)}
    got = {}
    for name in (
        "O+D+R",
        "O+D+R, eye value from AU45",
        "O+D+R, torso without the cascade",
        "O+D+R, eyes weighted 50x",
        "O+D+R, eyes weighted 10x",
    ):
        row = rows.get(name) or next(m for m in methods if m["name"] == name)
        parse_config_files([experiments.resolve(c) for c in row["configs"]], row["bindings"])
        try:
            eyes = gin.query_parameter("TalkingHeadFolder.eye_source")
            weight = gin.query_parameter("TalkingHeadSystem.region_weights")["eyes"]
            try:
                cascade = gin.query_parameter("RSDF.torso_cascade")
            except ValueError:  # not bound: the class default (the cascade on)
                cascade = True
        finally:
            gin.clear_config()
        got[name] = (eyes, cascade, weight)
    assert got == {"O+D+R": ("landmarks", True, 2.0),
                   "O+D+R, eye value from AU45": ("au45", True, 2.0),
                   "O+D+R, torso without the cascade": ("landmarks", False, 2.0),
                   "O+D+R, eyes weighted 50x": ("landmarks", True, 50.0),
                   "O+D+R, eyes weighted 10x": ("landmarks", True, 10.0)}  # fmt: skip


@pytest.mark.parametrize("backbone", ["rad_nerf", "er_nerf"])
def test_the_torso_ablation_takes_the_torso_out_of_the_3d_field(backbone):
    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    methods = table2.build_methods(backbone, "micro", ["AUDIO_IN_DIM = 32"], True)
    row = next(m for m in table2.ablation_methods(methods) if "originals train it" in m["name"])
    net = {"rad_nerf": "RADNeRF", "er_nerf": "ERNeRF"}[backbone]
    parse_config_files([experiments.resolve(c) for c in row["configs"]], row["bindings"])
    try:
        keys = (f"{net}.aabb", f"{net}.bound", f"{net}.torso", "train.stages")
        keys += ("TalkingHeadFolder.background", "torso/Trainer.steps", "head/Trainer.steps")
        got = {k: gin.query_parameter(k) for k in keys}
    finally:
        gin.clear_config()
    assert got[f"{net}.aabb"] is None and got[f"{net}.bound"] == 1.0 and got[f"{net}.torso"]
    assert got["train.stages"] == ("head", "lips", "torso")
    assert got["TalkingHeadFolder.background"] == "torso"
    # the profile's budgets (micro: 40 head, 10 torso steps)
    assert (str(got["head/Trainer.steps"]), str(got["torso/Trainer.steps"])) == (
        "%HEAD_STEPS", "%TORSO_STEPS")  # fmt: skip
    # the base row (O) holds the torso in the 3D field of the portrait box
    parse_config_files([experiments.resolve(c) for c in methods[0]["configs"]], [])
    try:
        assert str(gin.query_parameter(f"{net}.bound")) == "%PORTRAIT_BOUND"
        assert gin.query_parameter("train.stages") == ("head", "lips")
    finally:
        gin.clear_config()


def test_table1_torso_ablation_keeps_the_bundle_space_and_draws_the_torso_in_2d():
    """Table 1's one ablation: LokiTalk with the originals' 2D torso stage; the portrait box and
    bound (the bundle's space), the row's bundle and F_a stay; it names Table 1's PSNR claims;
    the markdown puts what it isolates in the paper's column and its seeds in the note."""
    import gin
    from harness import experiments, table1

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    run = ["AUDIO_IN_DIM = 32"]
    methods = table1.methods("micro", "/bundle", run)
    rows = table2.ablation_methods(methods, table1.ABLATIONS, table1.ABLATION_CLAIMS)
    (row,) = [r for r in rows if r["name"] == "LokiTalk, torso as the originals train it"]
    base = methods[-1]
    assert row["name"] == "LokiTalk, torso as the originals train it"
    assert row["bindings"] == base["bindings"] and row["configs"][:-1] == base["configs"]
    assert row["ablation"] == {"claims": ["t1_psnr_er", "t1_psnr_rad", "t1_target"],
                               "isolates": table1.TORSO_2D, "baseline": "LokiTalk"}  # fmt: skip
    parse_config_files([experiments.resolve(c) for c in row["configs"]], row["bindings"])
    try:
        got = {k: gin.query_parameter(k) for k in (
            "ERNeRF.torso", "train.stages", "TalkingHeadFolder.background", "ERNeRF.bound",
            "torso/Trainer.steps", "wrap.pretrained")}  # fmt: skip
    finally:
        gin.clear_config()
    assert got["ERNeRF.torso"] and got["train.stages"] == ("head", "lips", "torso")
    assert got["TalkingHeadFolder.background"] == "torso"
    assert str(got["ERNeRF.bound"]) == "%PORTRAIT_BOUND"  # the bundle's space, not bound 1
    assert str(got["torso/Trainer.steps"]) == "%TORSO_STEPS"
    # the ablation row in the markdown: what it changes where the paper's numbers would be
    metrics = dict.fromkeys(("psnr", "lpips", "lmd", "lmd_eyes", "mouth_error", "eye_error",
                             "fps", "size_mb"), 1.0)  # fmt: skip
    metrics.update(train_minutes=1.0, sync_conf=0.5, sync_offset=0)
    results = [{"method": m["name"], "metrics": dict(metrics), "eval": {}} for m in methods]
    results.append({"method": row["name"], "metrics": dict(metrics), "ablation": row["ablation"]})
    report = {
        "data_label": "the studio", "profile": "micro", "command": "python benchmarks/run.py",
        "commit": "0" * 40, "load_at_start": 0.1, "seeds": [0, 1, 2], "studio": True,
        "ablation_seeds": {row["name"]: 1},
        "settings": {"size": 32, "seconds": 1.0, "head": 4, "lips": 1, "torso": 2, "rays": 8},
        "machine": {"jobs_in_parallel": 1, "cpu_count": 2, "platform": "x", "torch": "2"},
        "render_ratio_lokitalk_vs_er_nerf": 2.0, "cross_driving": None, "results": results,
    }  # fmt: skip
    md = table1.markdown(report)
    line = next(x for x in md.splitlines() if x.startswith(f"| {row['name']} |"))
    assert line.endswith(f"| ablation of LokiTalk: {table1.TORSO_2D} |")
    assert f"Every row but '{row['name']}' (seed 0 only): mean ± sample std" in md


def test_ablation_lines_name_each_row_and_what_it_speaks_to():
    from harness.table2 import ablation_lines

    rows = [{"method": "A", "ablation": {"isolates": "x", "baseline": "B", "claims": ["c1", "c2"]}},
            {"method": "D", "ablation": {"isolates": "y", "baseline": "B", "claims": []}},
            {"method": "B"}]  # fmt: skip
    lines = ablation_lines({"results": rows})
    assert lines[-2:] == ["- A: x (base row: 'B'; speaks to c1, c2)",
                          "- D: y (base row: 'B'; speaks to no claim of the ledger)"]  # fmt: skip
    assert ablation_lines({"results": rows[2:]}) == []
