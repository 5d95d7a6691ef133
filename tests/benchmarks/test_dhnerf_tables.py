"""The DH-NeRF tables' pieces: the methods differ only by their ablation, and the linear
probes give R² 1 for an exact linear code and about 0 for an unrelated one."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import dhnerf  # noqa: E402

ASSETS = {"extractor": "/x/ex.pt", "lipsync": None, "notes": []}
PROF = {"head": 40, "rays": 256, "size": 32, "seconds": 1.0}  # a report's settings


def test_table2_rows_differ_only_by_their_ablation():
    full, no_sync, no_dis = dhnerf.table2_methods("micro", ASSETS)
    assert full["configs"] == ["benchmarks/gin-configs/dhnerf/dhnerf.gin",
                               "benchmarks/gin-configs/dhnerf/budget.gin",
                               "benchmarks/gin-configs/profiles/micro.gin"]  # fmt: skip
    assert no_sync["configs"] == full["configs"] + ["benchmarks/gin-configs/dhnerf/no_lip_sync.gin"]
    assert no_dis["configs"] == full["configs"] + ["benchmarks/gin-configs/dhnerf/no_dis.gin"]
    assert (ROOT / no_dis["configs"][-1]).read_text().endswith("DHNeRF.lambda_dis = 0.0\n")
    assert full["bindings"] == no_sync["bindings"] == ["CODE_EXTRACTOR = '/x/ex.pt'",
                                                       "EXTRACTOR_RELATIVE = ()"]  # fmt: skip
    with_sync = dhnerf.table2_methods("micro", dict(ASSETS, lipsync="/x/ls.pt"))[0]
    assert with_sync["configs"][-1] == "benchmarks/gin-configs/dhnerf/lipsync.gin"
    assert "LIPSYNC = '/x/ls.pt'" in with_sync["bindings"]
    t1 = dhnerf.table1_methods("micro", ASSETS)
    assert [m["name"] for m in t1] == ["RAD-NeRF", "ER-NeRF", "LokiTalk (RSDF)", "DH-NeRF"]
    # the probes read the DH-NeRF rows' codes: which rows those are, by the methods' flag
    assert dhnerf.probed(t1) == [False, False, False, True]
    assert dhnerf.probed([full, no_sync, no_dis]) == [True, True, True]
    # the head stage only: every row scored over the torso image, the head alone
    assert {m["val_background"] for m in [*t1, full, no_sync, no_dis]} == {"torso"}


def test_r2_probe_values():
    g = np.random.default_rng(0)
    x = g.normal(size=(200, 4))
    fit = np.arange(200) < 140
    y = x @ g.normal(size=(4, 3)) + 0.5
    assert dhnerf.r2_probe(x, y, fit) == pytest.approx(1.0, abs=1e-3)
    assert dhnerf.r2_probe(g.normal(size=(200, 4)), y, fit) < 0.1
    # a factor constant over the held-out frames has no R²: left out of the mean, NaN alone
    flat = y.copy()
    flat[~fit, 0] = 0.5
    both = dhnerf.r2_probe(x, flat, fit)
    assert both == pytest.approx(dhnerf.r2_probe(x, y[:, 1:], fit))
    assert np.isnan(dhnerf.r2_probe(x, flat[:, :1], fit))
    # a code shared by every frame (DHNeRF.shared_codes) carries nothing: 0, whatever y does
    one = np.tile(np.float32([0.3, -1.2, 7.0, 0.1]), (200, 1))
    assert dhnerf.r2_probe(one, y, fit) == 0.0
    one[0, 2] += 1e-3  # one frame apart: an ordinary (poor) probe again
    assert dhnerf.r2_probe(one, y, fit) != 0.0


def test_probe_codes_reads_expression_and_light():
    g = np.random.default_rng(1)
    n = 60
    truth = SimpleNamespace(
        jaw=g.random(n), lip_width=g.random(n), eye_closure=g.random(n),
        light_dir=g.normal(size=(n, 3)), light_intensity=g.random(n),
    )  # fmt: skip
    ids = np.arange(n)
    expr = np.stack([truth.jaw, truth.lip_width, truth.eye_closure], 1)
    out = dhnerf.probe_codes({"ex": expr @ g.normal(size=(3, 5))}, truth, ids)
    assert out["ex"]["expression"] == pytest.approx(1.0, abs=1e-2)
    assert out["ex"]["light"] < 0.2


def test_probe_codes_without_a_light_track_reads_no_light():
    g = np.random.default_rng(2)
    n = 40
    truth = SimpleNamespace(jaw=g.random(n), lip_width=g.random(n), eye_closure=g.random(n),
                            light_dir=None, light_intensity=None)  # fmt: skip
    expr = np.stack([truth.jaw, truth.lip_width, truth.eye_closure], 1)
    out = dhnerf.probe_codes({"ex": expr @ g.normal(size=(3, 4))}, truth, np.arange(n))
    assert out["ex"]["light"] is None
    assert out["ex"]["expression"] == pytest.approx(1.0, abs=1e-2)


def test_markdown_has_the_sync_column_and_its_reference_rows():
    from harness.runner_dhnerf import NA, _markdown

    def row(name, psnr, conf):
        metrics = dict(psnr=psnr, ssim=0.9, lmd=None, mouth_error=0.1, lip_sync=0.5,
                       sync_conf=conf, sync_offset=1, sync_max_offset=6)  # fmt: skip
        return {"method": name, "metrics": metrics, "eval": {"landmark_detector": "none"}}

    refs = [{"method": "ground truth (ceiling)", "metrics": {"sync_conf": 0.9, "sync_offset": 0}}]
    report = dict(table="dhnerf-table2", profile="micro", command="run", commit="0" * 40,
                  settings=dict(PROF), paper=dhnerf.PAPER2, notes=NA, references=refs,
                  results=[row("full model", 20.0, 0.6), row("w/o lip-sync module", 19.0, 0.7),
                           row("w/o disentangling loss", 18.0, 0.2)])  # fmt: skip
    lines = _markdown(report).splitlines()
    header = next(x for x in lines if x.startswith("| method | PSNR | PSNR on train frames | SSIM"))
    header = header.split("|")
    full = next(x for x in lines if x.startswith("| full model | 20.000")).split("|")
    assert "Sync conf" in header[7] and full[7].strip() == "0.60 (+1)"
    ceiling = next(x for x in lines if x.startswith("| *ground truth")).split("|")
    assert ceiling[7].strip() == "0.90 (+0)" and len(ceiling) == len(header)
    assert "- full model above both ablations in psnr: yes" in lines
    assert "- full model above both ablations in sync_conf: no" in lines
    assert "- the lip-sync module lowers LMD: n/a" in lines  # no landmark detector here
    report["results"][0]["metrics"]["lmd"], report["results"][1]["metrics"]["lmd"] = 2.0, 3.0
    assert "- the lip-sync module lowers LMD: yes" in _markdown(report).splitlines()
    assert any("±6 frames" in x for x in lines) and not any("lip sync r" in x for x in lines)
    assert not any("earlier run" in x for x in lines)
    report["results"][1]["resumed"] = True
    assert ("bindings, folder and package source; `--resume`): w/o lip-sync module."
            in _markdown(report))  # fmt: skip
    # the extractor's recipe from its pre-training record, --extractor's keywords beside it
    assert "code extractor" not in _markdown(report)
    report["assets"] = {"bank": {"identities": 16, "steps": 300, "seed": 1, "shift": 0.04}}
    report["extractor"] = {"seed": 1}
    assert (
        'The code extractor\'s recipe: `{"steps": 300, "seed": 1, "shift": 0.04}`, with '
        '`{"seed": 1}` over the tables\' (`--extractor`).'
    ) in _markdown(report)
    report["assets"]["threads"] = 2  # the count the file records it pre-trained on
    assert ('`{"seed": 1}` over the tables\' (`--extractor`), pre-trained on 2 threads.'
            in _markdown(report))  # fmt: skip
    report["assets"]["cpu"] = "Xeon"  # and the processor
    assert "(`--extractor`), pre-trained on 2 threads of Xeon." in _markdown(report)
    report["assets"] = {}  # a report from before the record: the keywords alone
    assert ('The code extractor with `{"seed": 1}` over the tables\' (`--extractor`).'
            in _markdown(report))  # fmt: skip


def test_seeded_rows_give_mean_and_std_and_the_ledger_reads_every_seeds_probes():
    from claims.core import row_sample
    from harness.runner_dhnerf import NA, _markdown
    from harness.seeds import fold_seeds, seeded_methods

    methods = seeded_methods([{"name": n, "configs": [], "bindings": []}
                              for n in ("full model", "w/o lip-sync module")], 2)  # fmt: skip
    rows = []
    for m in methods:
        metrics = dict(psnr=20.0 + m["seed"], ssim=0.9, lmd=None, mouth_error=0.1,
                       sync_conf=0.5, sync_offset=0)  # fmt: skip
        rows.append({"method": m["name"], "metrics": metrics, "workspace": m["key"],
                     "train_seconds": 1.0, "eval": {"landmark_detector": "none"}})  # fmt: skip
    folded = fold_seeds(rows, methods)
    for r in folded:
        for s in r["seeds"]:
            codes = {k: {"expression": 0.5, "light": 0.1} for k in ("id", "ex", "al", "ill")}
            s["probes"] = {"learned": codes, "extractor": codes, "leakage": 0.2 + 0.1 * s["seed"]}
    folded[0]["probes"] = folded[0]["seeds"][0]["probes"]
    report = dict(table="dhnerf-table2", profile="micro", command="run", commit="0" * 40,
                  settings=dict(PROF), paper=dhnerf.PAPER2, notes=NA, references=[],
                  seeds=[0, 1], resumed_rows=["w/o lip-sync module seed 1"],
                  results=folded)  # fmt: skip
    md = _markdown(report)
    assert "| full model | 20.500 ± 0.707 | n/a | 0.900 ± 0.000 | n/a |" in md
    assert "Every row: mean ± sample std over seeds 0, 1;" in md
    assert "`--resume`): w/o lip-sync module seed 1." in md
    s = row_sample(report, lambda r: r["method"] == "full model", "probes.leakage", "leak")
    assert s.values == pytest.approx((0.2, 0.3))  # both seeds', not seed 0's alone
    one = dict(report, results=[dict(folded[0], seeds=[])])
    assert row_sample(one, lambda r: True, "probes.leakage", "x").values == pytest.approx((0.2,))


def test_table2_ablation_rows_add_one_gin_file_to_their_base_row():
    from harness.runner_dhnerf import OWN_AUDIO
    from harness.table2 import ablation_methods

    assert OWN_AUDIO in dhnerf.ABLATIONS
    base = dhnerf.table2_methods("micro", dict(ASSETS, lipsync="/x/ls.pt"))
    by_name = {m["name"]: m for m in base}
    rows = ablation_methods(base, dhnerf.ABLATIONS, dhnerf.ABLATION_CLAIMS)
    assert [r["name"] for r in rows] == list(dhnerf.ABLATIONS)
    for r in rows:
        own = by_name[r["ablation"]["baseline"]]
        assert r["configs"][:-1] == own["configs"] and r["bindings"] == own["bindings"]
        assert r["ablation"]["baseline"] == r["name"].split(", ")[0]
        codes = r["configs"][-1].endswith(
            ("refresh_codes.gin", "ex_init_default.gin", "bf16_start.gin", "light_share.gin")
        )  # diagnoses, speed
        under = r["configs"][-1].endswith("frame_head_background.gin")  # every Table 2 row
        claims = [] if codes else ["dh_lip_psnr", "dh_dis_psnr"] if under else ["dh_lip_psnr"]
        assert r["ablation"]["claims"] == claims and r["dhnerf"]
        assert (ROOT / r["configs"][-1]).is_file()
    text = {r["name"]: (ROOT / r["configs"][-1]).read_text() for r in rows}
    assert "DHNeRF.lipsync = None" in text[OWN_AUDIO]
    assert "GridUpkeep.frames = 8" in text["full model, occupancy from 8 frames' audio"]
    assert (
        "GridUpkeep.codes = 'both'" in text["full model, occupancy under the frames' own codes too"]
    )
    assert "DHNeRF.ex_init = 'default'" in text["full model, C_ex weights at default init"]
    assert "DHNeRF.lip_init = 'default'" in text["full model, F_lip weights at default init"]
    audio = [r for r in rows if "driven by audio" in r["name"]]
    assert [r["ablation"]["baseline"] for r in audio] == ["full model", "w/o lip-sync module"]
    assert all("DHNeRF.audio_share = 0.5" in text[r["name"]] for r in audio)
    assert "DHNeRF.light_share = 0.5" in text["full model, half the steps under the mean light"]
    assert "DHNeRF.lip_sync = False" in " ".join(
        (ROOT / c).read_text() for c in audio[1]["configs"][:-1]
    )
    still = [r for r in rows if r["name"].endswith("w/o velocity loss")]
    assert [r["ablation"]["baseline"] for r in still] == ["full model", "w/o lip-sync module"]
    assert all("velocity_loss.weight = 0.0" in text[r["name"]] for r in still)
    # the pair is still rendered (the rows' own file includes the velocity loss): only λ_v is 0
    assert all("configs/velocity.gin" in (ROOT / r["configs"][0]).read_text() for r in still)
    assert (
        "include 'lokitalk_plugins/configs/bf16.gin'"
        in text["full model, bf16 after the first quarter"]
    )
    weaker = [r for r in rows if r["name"].endswith("velocity loss at λ_v 3")]
    assert [r["ablation"]["baseline"] for r in weaker] == ["full model", "w/o lip-sync module"]
    assert all("velocity_loss.weight = 3.0" in text[r["name"]] for r in weaker)
    under = [r for r in rows if r["name"].endswith("the frame's background under the head")]
    assert [r["ablation"]["baseline"] for r in under] == [
        "full model",
        "w/o lip-sync module",
        "w/o disentangling loss",
    ]
    assert all("TalkingHeadSystem.head_background = 'frame'" in text[r["name"]] for r in under)
    # the rows' own files train over a random colour (configs/dhnerf.gin's default)
    own = (ROOT / "lokitalk_plugins/configs/dhnerf.gin").read_text()
    assert "TalkingHeadSystem.head_background = 'random'" in own


@pytest.mark.parametrize("argv, message", [
    (["dhnerf-table1", "--ablations"], "--ablations: dhnerf-table1 has no ablation rows"),
    (["dhnerf-table2", "--methods", "full model, F_lip from its own audio network"],
     "(an ablation row needs --ablations)"),
    (["dhnerf-table2", "--methods", "nope"], "--methods: no row named ['nope'] in dhnerf-table2"),
    (["dhnerf-table2", "--ablations", "--ablation-seeds", "x=2"], "no ablation row named 'x'"),
])  # fmt: skip
def test_bad_row_options_are_refused_before_anything_is_written(tmp_path, argv, message):
    import run

    work = tmp_path / "work"
    with pytest.raises(SystemExit) as e:
        run.main([*argv, "--profile", "micro", "--work", str(work), "--out", str(tmp_path / "o")])
    assert message in str(e.value)
    assert not work.exists()  # no studio, no extractor, no lip-sync module


def test_markdown_lists_the_ablation_rows_and_judges_the_paper_rows_alone():
    from harness.runner_dhnerf import NA, _markdown

    def row(name, psnr, ablation=None):
        metrics = dict(psnr=psnr, fit_psnr=psnr + 0.5, ssim=0.9, lmd=None, mouth_error=0.1,
                       sync_conf=0.5, sync_offset=0)  # fmt: skip
        r = {"method": name, "metrics": metrics, "eval": {"landmark_detector": "none"}}
        return dict(r, ablation=ablation) if ablation else r

    own = "full model, F_lip from its own audio network"
    record = {"claims": ["dh_lip_psnr"], "isolates": dhnerf.ABLATIONS[own][2],
              "baseline": "full model"}  # fmt: skip
    report = dict(table="dhnerf-table2", profile="micro", command="run", commit="0" * 40,
                  settings=dict(PROF), paper=dhnerf.PAPER2, notes=NA, references=[],
                  methods=["full model", "w/o lip-sync module", own],
                  seeds=[0, 1], ablation_seeds={own: 1},
                  results=[row("full model", 20.0), row("w/o lip-sync module", 22.0),
                           row(own, 25.0, record)])  # fmt: skip
    md = _markdown(report)
    assert "| full model | 20.000 | 20.500 |" in md
    # the ablation row (25 dB) is no paper row; 'w/o disentangling loss' was not run: n/a
    assert "- full model above both ablations in psnr: n/a" in md
    assert (f"- {own}: F_lip from the model's own audio network, trained with the field, "
            "instead of the frozen lip-sync module's audio branch (base row: 'full model'; "
            "speaks to dh_lip_psnr)") in md  # fmt: skip
    assert f"Every row but '{own}' (seed 0 only)" in md
    assert f"Rows chosen (`--methods`): 'full model', 'w/o lip-sync module', '{own}'" in md


@pytest.mark.slow
def test_an_ablation_row_runs_alone_at_the_micro_profile(tmp_path):
    import json

    import run
    from harness.runner_dhnerf import OWN_AUDIO

    refresh = "full model, occupancy from 8 frames' audio"
    out, work = tmp_path / "out", tmp_path / "work"
    assert run.main(["dhnerf-table2", "--profile", "micro", "--ablations", "--parallel", "1",
                     "--methods", OWN_AUDIO, refresh, "--work", str(work),
                     "--out", str(out)]) == 0  # fmt: skip
    report = json.loads((out / "dhnerf_table2_micro.json").read_text())
    # the micro clip is too short for the lip-sync module: the own-audio row would be the full
    # model itself, so it is left out and said so
    assert report["assets"]["lipsync"] is None
    assert [r["method"] for r in report["results"]] == [refresh]
    (row,) = report["results"]
    assert row["ablation"] == {"claims": ["dh_lip_psnr"], "isolates": dhnerf.ABLATIONS[refresh][2],
                               "baseline": "full model"}  # fmt: skip
    assert row["configs"][-1].endswith("dhnerf/ablations/refresh_frames.gin")
    assert report["ablation_seeds"] == {refresh: 1} and report["methods"] == [OWN_AUDIO, refresh]
    m = row["metrics"]
    assert 5.0 < m["psnr"] < 60.0 and 5.0 < m["fit_psnr"] < 60.0 and m["psnr_head"] is not None
    md = (out / "dhnerf_table2_micro.md").read_text()
    assert f"'{OWN_AUDIO}' not run: without a lip-sync module" in md
    assert f"- {refresh}: each occupancy refresh under 8 training frames' F_lip" in md
    # C_ex's response beside the probes; the micro clip's coded frames never blink, so the
    # eyes have no change to respond to (None), the jaw has
    resp = row["probes"]["code_response"]
    assert set(resp) == {"jaw", "eye_closure"}
    assert resp["jaw"]["low"] < resp["jaw"]["high"] and resp["jaw"]["response"] >= 0.0
    eye = resp["eye_closure"]
    assert eye["response"] is None if eye["low"] == eye["high"] else eye["response"] >= 0.0
    assert "C_ex's response (1 seed(s)): val frame 0 rendered with the C_ex" in md
    assert (out / "dhnerf_table2_micro_traversal.png").stat().st_size > 0
    # the standalone script measures the same on the row's workspace
    import dhnerf_code_response

    assert dhnerf_code_response.main(["--workspaces", row["workspace"], "--out", str(out),
                                      "--tag", "t"]) == 0  # fmt: skip
    again = json.loads((out / "dhnerf_code_response_t.json").read_text())
    assert again["seeds"][0]["probes"]["code_response"] == resp  # the same renders, same numbers
    assert (out / "dhnerf_code_response_t_traversal.png").stat().st_size > 0
    assert "C_ex's response (1 seed(s))" in (out / "dhnerf_code_response_t.md").read_text()
    # where its PSNR goes: its training frames under the test-time codes give the table's
    # PSNR on train frames; a DH-NeRF given as the reference renders them the same way
    import dhnerf_gap

    assert dhnerf_gap.main(["--workspaces", row["workspace"], "--reference", row["workspace"],
                            "--out", str(out), "--tag", "t"]) == 0  # fmt: skip
    gap = json.loads((out / "dhnerf_gap_t.json").read_text())
    variants = gap["seeds"][0]["variants"]
    assert list(variants) == list(dhnerf_gap.VARIANTS)
    assert variants["test time"]["psnr"] == pytest.approx(m["fit_psnr"], abs=1e-6)
    assert gap["reference"][0]["fit"]["psnr"] == pytest.approx(m["fit_psnr"], abs=1e-6)
    assert all(5.0 < v["psnr"] < 60.0 and v["psnr_head"] is not None for v in variants.values())
    gap_md = (out / "dhnerf_gap_t.md").read_text()
    assert (
        "| DH-NeRF, own codes | 1 |" in gap_md
        and "| ER-NeRF (as the table renders it) | 1 |" in gap_md
    )
    assert dhnerf_gap.main(["--workspaces", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert dhnerf_gap.main(["--workspaces", row["workspace"], "--frames", "0"]) == 2


def test_the_unlit_studio_option_trains_there_and_reads_no_light(tmp_path):
    """--studio-unlit: the rows train on the studio of tables 1-4 (no moving key light), in
    their own rows folder and result files; the light probes are n/a, the rest as on the lit
    studio."""
    import json

    import run

    out, work = tmp_path / "out", tmp_path / "work"
    row_name = "w/o disentangling loss"
    argv = ["dhnerf-table2", "--profile", "micro", "--studio-unlit", "--parallel", "1",
            "--methods", row_name, "--work", str(work), "--out", str(out)]  # fmt: skip
    assert run.main(argv) == 0
    report = json.loads((out / "dhnerf_table2_micro_unlit.json").read_text())
    assert report["unlit"] is True and not (work / "dhnerf-table2_micro").exists()
    prof = run.PROFILES["micro"]
    studio = work / f"studio_{prof['size']}px_{prof['seconds']:.0f}s" / "id000"
    assert report["data"] == str(studio) and (work / "dhnerf-table2_micro_unlit").is_dir()
    (row,) = report["results"]
    probes = row["probes"]
    assert all(v["light"] is None for v in probes["learned"].values())
    assert probes["meets"]["ill_light"] is None and probes["leakage"] is not None
    assert 5.0 < row["metrics"]["psnr"] < 60.0
    md = (out / "dhnerf_table2_micro_unlit.md").read_text()
    assert md.startswith("# Disentangling Head NeRF dhnerf-table2 on the studio without its "
                         "moving key light (micro profile)")  # fmt: skip
    assert "| C_ill | " in md and "n/a" in md.split("| C_ill | ")[1].split("\n")[0]


def test_c_ex_response_lines_fold_the_seeds():
    from harness.runner_dhnerf import _response_lines

    def seed(jaw, eye):
        return {"probes": {"code_response": {
            "jaw": {"low": 0.0, "high": 0.9, "response": jaw},
            "eye_closure": {"low": 0.0, "high": 1.0, "response": eye}}}}  # fmt: skip

    line = _response_lines({"seeds": [seed(0.1, 0.5), seed(0.3, None), seed(0.2, 0.7)]})[-1]
    assert line.startswith("C_ex's response (3 seed(s)): ")
    assert "jaw (0.00 -> 0.90) 0.20 ± 0.10; eye closure (0.00 -> 1.00) 0.60 ± 0.14." in line
    assert _response_lines({"seeds": [{"probes": {"leakage": 0.1}}]}) == []


def test_a_cached_extractor_from_before_the_window_or_without_its_bank_is_refused(tmp_path):
    import torch

    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_bank

    path = tmp_path / "dhnerf_extractor_default.pt"
    dhnerf.check_extractor_file(path)  # none yet: pre-trained by the run
    torch.save({"kind": "dhnerf_code_extractor", "dims": {}, "state_dict": {}}, path)
    with pytest.raises(SystemExit, match="dhnerf_extractor_default.pt: a code extractor from "
                       "before 5f3da90.*delete it") as err:  # fmt: skip
        dhnerf.check_extractor_file(path)
    assert "\n" not in str(err.value) and path.exists()  # nothing deleted
    torch.save({"kind": "dhnerf_code_extractor", "crop": None, "state_dict": {}}, path)
    dhnerf.check_extractor_file(path)  # what it reads is recorded; no bank asked for
    bank = extractor_bank(lights=5)
    with pytest.raises(SystemExit, match="dhnerf_extractor_default.pt: a code extractor whose "
                       "pre-training bank is not recorded.*delete it") as err:  # fmt: skip
        dhnerf.check_extractor_file(path, bank)
    assert "\n" not in str(err.value) and path.exists()
    torch.save({"kind": "dhnerf_code_extractor", "crop": None, "bank": extractor_bank(lights=3),
                "state_dict": {}}, path)  # fmt: skip
    with pytest.raises(SystemExit, match=r"pre-trained with lights 3 \(now 5\): delete it"):
        dhnerf.check_extractor_file(path, bank)
    torch.save({"kind": "dhnerf_code_extractor", "crop": None, "bank": bank,
                "state_dict": {}}, path)  # fmt: skip
    dhnerf.check_extractor_file(path, bank)  # what it reads and the bank asked for
    # a record from before the hard-negative draw existed was trained with the uniform one
    before = {k: v for k, v in bank.items() if k != "hardness"}
    torch.save({"kind": "dhnerf_code_extractor", "crop": None, "bank": before,
                "state_dict": {}}, path)  # fmt: skip
    dhnerf.check_extractor_file(path, bank)
    with pytest.raises(SystemExit, match=r"pre-trained with hardness 0.0 \(now 5.0\): delete"):
        dhnerf.check_extractor_file(path, extractor_bank(lights=5, hardness=5))
    # the thread count: a file from before its record is taken as it is; another is refused
    dhnerf.check_extractor_file(path, bank, 2)
    torch.save({"kind": "dhnerf_code_extractor", "crop": None, "bank": bank, "threads": 1,
                "state_dict": {}}, path)  # fmt: skip
    dhnerf.check_extractor_file(path, bank, 1)
    dhnerf.check_extractor_file(path, bank)  # no count asked for
    with pytest.raises(SystemExit, match=r"pre-trained with threads 1 \(now 2; the same "
                       r"seed gives other weights\): delete it") as err:  # fmt: skip
        dhnerf.check_extractor_file(path, bank, 2)
    assert "\n" not in str(err.value) and path.exists()


def test_the_extractor_option_pretrains_with_its_keywords_and_the_rows_read_them(tmp_path):
    """The tables' extractor pre-trained with configs/dhnerf.gin's recipe (``EXTRACTOR_RECIPE``,
    its expression steps the profile's) and ``run.py --extractor``'s keywords over it,
    recorded in its file; the DH-NeRF rows' gin reads that file back as trained (with the same
    keywords bound); the same --work with other keywords is refused in one line."""
    import inspect

    import gin
    from harness import experiments

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_file_bank
    from lokitalk_plugins.train.config import parse_config_files
    from lokitalk_plugins.train.runtime import cpu_model

    data = dhnerf.lit_studio(tmp_path, {"size": 32, "seconds": 0.6})
    kw = {"expression_steps": 2}
    a = dhnerf.assets(tmp_path / "dhnerf", "micro", data, kw)
    bank = extractor_file_bank(a["extractor"])
    assert bank["relative"] == ["ex"] and bank["expression_steps"] == 2  # the option's
    assert bank["expression_weight"] == 10.0 and bank["shift"] == 0.04  # the gin's recipe
    gin_text = (ROOT / "lokitalk_plugins/configs/dhnerf.gin").read_text()
    for key, value in dhnerf.EXTRACTOR_RECIPE.items():  # the harness pre-trains what it binds
        bound = {"relative": "('ex',)"}.get(key, repr(value))
        assert f"studio_code_extractor.{key} = {bound}" in gin_text
    assert "studio_code_extractor.expression_steps = 300" in gin_text
    assert "studio_code_extractor.threads = 2" in gin_text and dhnerf._threads({}) == 2
    assert dhnerf.EXTRACTOR_STEPS["default"] == 300
    assert bank["identities"] == 4 and bank["steps"] == dhnerf.EXTRACTOR_STEPS["micro"]
    assert a["relative"] == ["ex"]
    assert a["bank"] == bank  # the whole recipe, defaults included, for the report's "assets"
    assert a["threads"] == 2  # the count it pre-trained on, recorded in its file
    assert a["cpu"] == cpu_model()  # and the processor
    with pytest.raises(SystemExit, match=r"pre-trained with threads 2 \(now 1;"):
        dhnerf.assets(tmp_path / "dhnerf", "micro", data, dict(kw, threads=1))
    with pytest.raises(SystemExit, match=r'--extractor \{"threads": 0\}: studio_code_extractor.'
                       "threads = 0: give a whole number"):  # fmt: skip
        dhnerf.assets(tmp_path / "other", "micro", data, {"threads": 0})
    m = dhnerf._dhnerf("DH-NeRF", "micro", a, None)
    assert "EXTRACTOR_RELATIVE = ('ex',)" in m["bindings"]  # a typed macro the gin file reads
    parse_config_files([experiments.resolve(c) for c in m["configs"]], m["bindings"])
    try:
        ext = gin.query_parameter("DHNeRF.extractor").scoped_configurable_fn()
    finally:
        gin.clear_config()
    assert ext.relative == ("ex",)  # read back as trained, not refused
    with pytest.raises(SystemExit, match=r"expression_steps 2 \(now 40\)"):
        dhnerf.assets(tmp_path / "dhnerf", "micro", data)  # the profile's expression steps
    pairs = {"relative": [], "expression_steps": 0, "expression_weight": 0, "shift": 0}
    with pytest.raises(SystemExit, match=r"relative \['ex'\] \(now \[\]\), .*shift 0.04 "
                       r"\(now 0.0\)"):  # fmt: skip
        dhnerf.assets(tmp_path / "dhnerf", "micro", data, pairs)
    with pytest.raises(SystemExit, match="--extractor: the tables keep the extractor in --work"):
        dhnerf.assets(tmp_path / "other", "micro", data, {"path": "x.pt"})
    with pytest.raises(SystemExit, match=r'--extractor \{"colour": 3\}: .*colour') as err:
        dhnerf.assets(tmp_path / "other", "micro", data, {"colour": 3})
    assert "\n" not in str(err.value)
    with pytest.raises(SystemExit, match=r'--extractor \{"relative": "lips"\}: relative must'):
        dhnerf.assets(tmp_path / "other", "micro", data, {"relative": "lips"})
    from lokitalk_plugins.baselines.dhnerf import CodeExtractor

    keywords = set(inspect.signature(CodeExtractor).parameters) - {"self", "relative"}
    assert set(dhnerf.READ_KEYWORDS) == keywords  # every keyword the file's reading checks
    with pytest.raises(SystemExit, match="--extractor: crop, size would change how the DH-NeRF"):
        dhnerf.assets(tmp_path / "other", "micro", data, {"size": 64, "crop": None})
    # a keyword the profile's bank names too (micro: identities) takes the option's value
    with pytest.raises(SystemExit, match=r"pre-trained with identities 4 \(now 5\)"):
        dhnerf.assets(tmp_path / "dhnerf", "micro", data, dict(kw, identities=5))
    # an extractor from the pairs alone: the rows read every code as is
    plain = dhnerf._dhnerf("DH-NeRF", "micro", dict(a, relative=[]), None)
    assert "EXTRACTOR_RELATIVE = ()" in plain["bindings"]


@pytest.mark.parametrize("argv, message", [
    (["dhnerf-table1", "--extractor", "{oops"], "--extractor '{oops': not JSON"),
    (["dhnerf-table1", "--extractor", "[1]"], "--extractor [1]: give a JSON object"),
    (["table2", "--extractor", "{}"], "--extractor: only for dhnerf-table1 and dhnerf-table2"),
    (["table2", "--studio-unlit"], "--studio-unlit: only for dhnerf-table1 and dhnerf-table2"),
    (["dhnerf-table2", "--data", "/x/id000"],
     "--data: dhnerf-table2 trains on the studio (its ground truth scores the codes)"),
])  # fmt: skip
def test_a_bad_extractor_or_data_option_is_one_line(tmp_path, capsys, argv, message):
    import run

    work = tmp_path / "work"
    with pytest.raises(SystemExit):
        run.main([*argv, "--profile", "micro", "--work", str(work), "--out", str(tmp_path / "o")])
    assert message in capsys.readouterr().err
    assert not work.exists()
