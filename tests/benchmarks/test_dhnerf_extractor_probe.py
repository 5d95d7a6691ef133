"""benchmarks/dhnerf_extractor_probe.py: per-factor probes of the extractor's codes and the
pixel ceiling, on a tiny lit studio identity."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import dhnerf_extractor_probe as bench  # noqa: E402

TINY = {"steps": 3, "identities": 2, "expressions": 2, "lights": 2, "render_size": 16,
        "size": 16, "width": 4, "num_negatives": 1}  # fmt: skip


@pytest.fixture(scope="module")
def lit(tmp_path_factory):
    from lokitalk_plugins.data.studio import write_identity

    root = tmp_path_factory.mktemp("lit")
    lit = write_identity(root / "lit", seconds=2.0, size=32, lighting=True)
    plain = write_identity(root / "plain", seconds=0.6, size=32)
    return lit, plain


def test_probe_factors_reads_each_factor_and_the_mean():
    g = np.random.default_rng(0)
    n = 80
    t = {"jaw": g.random((n, 1)), "lip_width": g.random((n, 1)), "eye_closure": g.random((n, 1)),
         "light": g.normal(size=(n, 4))}  # fmt: skip
    codes = {"ex": np.concatenate([t["jaw"], t["lip_width"]], 1), "ill": t["light"] * 2 + 1}
    p = bench.probe_factors(codes, t, ridge=1e-6)
    assert p["ex"]["jaw"] == pytest.approx(1.0, abs=1e-4)
    assert p["ex"]["lip_width"] == pytest.approx(1.0, abs=1e-4)
    assert p["ex"]["eye_closure"] < 0.2
    assert p["ex"]["expression"] == pytest.approx(np.mean([p["ex"][f] for f in bench.FACTORS[:3]]))
    assert p["ill"]["light"] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("ridge", [0.1, 10.0, 1e3])
def test_the_wide_ridge_is_the_tables_probe_in_dual_form(ridge):
    from harness.dhnerf import r2_probe

    g = np.random.default_rng(3)
    x = g.normal(size=(40, 120)) * g.uniform(0.1, 5, 120) + g.normal(size=120)  # d > frames
    y = x[:, :3] @ g.normal(size=(3, 2)) + g.normal(size=(40, 2)) * 0.3
    fit = np.arange(40) < 28
    assert bench.ridge_r2_wide(x, y, fit, ridge) == pytest.approx(r2_probe(x, y, fit, ridge),
                                                                  abs=1e-9)  # fmt: skip


def test_spread_ratio():
    g = np.random.default_rng(0)
    clip = {"id": g.normal(size=(50, 3)) * 0.1, "ex": g.normal(size=(50, 3))}
    bank = {"id": g.normal(size=(40, 3)), "ex": g.normal(size=(40, 3)) * 0.5}
    r = bench.spread_ratio(clip, bank)
    assert r["id"] == pytest.approx(0.1, rel=0.3) and r["ex"] == pytest.approx(2.0, rel=0.3)


def test_the_benchmark_writes_json_and_markdown(lit, tmp_path):
    data, _ = lit
    out = tmp_path / "out"
    rc = bench.main(["--data", str(data), "--out", str(out), "--variants", json.dumps(TINY),
                     json.dumps(dict(TINY, poses=4, grid=True))])  # fmt: skip
    assert rc == 0
    report = json.loads((out / "dhnerf_extractor_probe.json").read_text())
    assert [v["setting"] for v in report["variants"]] == [TINY, dict(TINY, poses=4, grid=True)]
    for v in report["variants"]:
        assert set(v["probes"]) == {"id", "ex", "al", "ill"}
        for r in v["probes"].values():
            assert set(r) == {*bench.FACTORS, "expression"}
            # NaN where a factor is constant over the held-out frames (the tiny bank's lip
            # width and eye closure), never above 1 or infinite
            assert all(np.isnan(x) or (np.isfinite(x) and x <= 1.0) for x in r.values())
        assert set(v["spread"]) == {"id", "ex", "al", "ill"}
        assert all(x >= 0 for x in v["spread"].values())
    assert set(report["pixel_ceiling"]) == {"32", "64"}
    assert report["frames"] > 20
    md = (out / "dhnerf_extractor_probe.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 2 + 2  # header, two extractors, two pixel ceilings
    assert "C̄_ex: jaw" in rows[0] and "pixels at 64 px" in rows[-1]


def test_bad_input_is_one_line(lit, tmp_path, capsys):
    data, plain = lit
    assert bench.main(["--data", str(data), "--out", str(tmp_path), "--variants", "{poses"]) == 2
    err = capsys.readouterr().err
    assert "--variants" in err and "not JSON" in err and err.count("\n") == 1
    assert bench.main(["--data", str(plain), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "without lighting" in err and err.count("\n") == 1
    assert bench.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "no transforms_train.json" in capsys.readouterr().err
    bad = json.dumps(dict(TINY, colour=3))
    assert bench.main(["--data", str(data), "--out", str(tmp_path), "--variants", bad]) == 2
    assert "colour" in capsys.readouterr().err


def test_the_supervised_ceiling_learns_the_banks_true_expressions():
    import torch

    from lokitalk_plugins.data.studio.factors import factor_bank

    kw = dict(TINY, steps=0, expressions=3, grid=True, poses=0, size=16, width=8)
    kw.pop("num_negatives")
    bank = factor_bank([1, 2], 3, 2, size=16, seed=0, poses=0, grid=True)
    truth = bank.expressions[bank.expression]

    def error(ext):
        with torch.no_grad():
            return float((ext(bank.images)["ex"][:, :3] - truth).pow(2).mean())

    untrained, trained = (bench.supervised_extractor(**dict(kw, steps=s)) for s in (0, 300))
    # below the error of predicting the mean of every factor (its variance): it reads them
    assert error(trained) < 0.8 * float(truth.var(0, unbiased=False).mean()), error(trained)
    # the same sizes and window as the contrastive extractor of these keywords
    assert trained.dims["ex"] == 16 and trained.crop is not None
    with pytest.raises(TypeError, match="ex_dim >= 3"):
        bench.supervised_extractor(**dict(kw, ex_dim=2))
    # relative to the person: the answers and C̄_ex both centred on each identity's images
    from lokitalk_plugins.baselines.dhnerf.extractor import centre_codes

    rel = bench.supervised_extractor(**dict(kw, steps=300, relative=["ex"]))
    assert rel.relative == ("ex",)
    centred = truth - truth.mean(0)  # every identity has the same expressions
    with torch.no_grad():
        got = centre_codes(rel(bank.images), rel.relative, bank.identity)["ex"][:, :3]
    assert float((got - centred).pow(2).mean()) < 0.8 * float(centred.var(0).mean())


def test_a_supervised_variant_is_its_own_row(lit, tmp_path, capsys):
    data, _ = lit
    out = tmp_path / "out"
    sup = dict(TINY, supervised=True)
    assert bench.main(["--data", str(data), "--out", str(out), "--variants", json.dumps(TINY),
                       json.dumps(sup)]) == 0  # fmt: skip
    report = json.loads((out / "dhnerf_extractor_probe.json").read_text())
    said = [ln for ln in capsys.readouterr().out.splitlines() if " s; C̄_ex: jaw " in ln]
    assert len(said) == 2  # each variant's read printed as it ends, as the report has it
    ex = report["variants"][1]["probes"]["ex"]
    assert f"lip width {bench._cell(ex['lip_width'])}, " in said[1]
    md = (out / "dhnerf_extractor_probe.md").read_text()
    row = next(line for line in md.splitlines() if '"supervised": true' in line and "|" in line)
    assert row.rstrip().endswith("| — | — | — |")  # its other codes are untrained
    assert "trained on the bank's true expressions" in md
    bad = json.dumps(dict(TINY, supervised=True, colour=3))
    assert bench.main(["--data", str(data), "--out", str(tmp_path), "--variants", bad]) == 2


def test_validate_reads_each_extractor_on_people_after_its_bank(lit, tmp_path, capsys,
                                                                monkeypatch):  # fmt: skip
    import torch

    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor, validate

    data, _ = lit
    g = torch.Generator().manual_seed(0)
    factors = np.random.default_rng(1).uniform(0, 1, (30, 3))
    clips = 2 * [validate.ValidationClip(3, torch.rand(30, 16, 16, 3, generator=g), factors)]
    asked = []

    def fake_clips(people, size, **_):
        asked.append((list(people), size))
        return clips

    monkeypatch.setattr(validate, "validation_clips", fake_clips)
    saved = dict(TINY, path=str(tmp_path / "ex.pt"))
    studio_code_extractor(progress=False, **saved)  # trained once; the variant reads the file
    out = tmp_path / "out"
    argv = ["--data", str(data), "--out", str(out), "--validate", "2", "--variants",
            json.dumps(saved), json.dumps(dict(TINY, seed=1))]  # fmt: skip
    assert bench.main(argv) == 0
    assert asked == [([3, 4], 16)]  # the people after the bank's 2, rendered once
    report = json.loads((out / "dhnerf_extractor_probe.json").read_text())
    first = report["variants"][0]["validation"]
    read = validate.expression_read(studio_code_extractor(progress=False, **saved), clips)
    assert first == {
        "identities": [3, 4],
        "read": pytest.approx(read),
        "per_person": pytest.approx([read, read]),
    }  # one clip given for both
    row0 = report["variants"][0]  # read from the file, not trained: its setting, the file
    assert row0["setting"] == TINY and row0["file"] == saved["path"]
    assert row0["train_seconds"] is None and "file" not in report["variants"][1]
    said = [ln for ln in capsys.readouterr().out.splitlines() if "(never seen): " in ln]
    assert len(said) == 2 and said[0].endswith(bench._cell(read))
    md = (out / "dhnerf_extractor_probe.md").read_text()
    assert "C̄_ex on people never seen (validation) |" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| `") and '"seed": 1' in ln)
    second = report["variants"][1]["validation"]
    assert row.endswith(f" {bench._cell(second['read'])} (id 3 "
                        f"{bench._cell(second['per_person'][0])}, id 4 "
                        f"{bench._cell(second['per_person'][1])}) |")  # fmt: skip
    assert f"| `{json.dumps(TINY)}` | file |" in md
    assert bench.main(["--data", str(data), "--out", str(out), "--validate", "-1"]) == 2
    assert "--validate -1" in capsys.readouterr().err
    other = json.dumps(dict(saved, seed=5))  # a file of another setting is refused
    assert bench.main(["--data", str(data), "--out", str(out), "--variants", other]) == 2
    err = capsys.readouterr().err
    assert "ex.pt was pre-trained with seed 0 (variant: 5); give its setting" in err
    assert err.count("\n") == 1


def test_resume_reuses_the_rows_a_stopped_run_finished(lit, tmp_path, capsys, monkeypatch):
    from harness import common

    from lokitalk_plugins.baselines import dhnerf

    data, _ = lit
    out, tree = tmp_path / "out", "ab" * 20
    monkeypatch.setattr(common, "package_tree", lambda: tree)
    first, second = TINY, dict(TINY, seed=1)
    argv = ["--data", str(data), "--out", str(out), "--variants", json.dumps(first),
            json.dumps(second)]  # fmt: skip
    trained, real = [], dhnerf.studio_code_extractor

    def stops_on_the_second(**kw):
        trained.append(kw.get("seed", 0))
        if len(trained) == 2:
            raise KeyboardInterrupt  # the run is stopped while it trains the second variant
        return real(**kw)

    monkeypatch.setattr(dhnerf, "studio_code_extractor", stops_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        bench.main(argv)
    assert not (out / "dhnerf_extractor_probe.json").exists()
    left = json.loads((out / bench.ROWS_FILE).read_text())
    assert [r["variant"] for r in left["rows"]] == [first]
    monkeypatch.setattr(dhnerf, "studio_code_extractor", lambda **kw: (trained.append(kw.get(
        "seed", 0)), real(**kw))[1])  # fmt: skip
    assert bench.main([*argv, "--resume"]) == 0
    assert trained == [0, 1, 1]  # only the variant the stopped run had not finished
    assert "reused (dhnerf_extractor_probe_rows.json)" in capsys.readouterr().out
    report = json.loads((out / "dhnerf_extractor_probe.json").read_text())
    assert report["variants"][0] == left["rows"][0]["row"]
    assert [v["setting"] for v in report["variants"]] == [first, second]
    assert not (out / bench.ROWS_FILE).exists()  # the report holds every row
    # a rows file from other package source, another --validate, or not this script's: not
    # reused, and the run says why in one line
    for change, why in ((lambda d: d.update(package_tree="cd" * 20), "other (or uncommitted)"),
                        (lambda d: d.update(validate=3), "validate 3"),
                        (lambda d: d.pop("rows"), "not a rows file")):  # fmt: skip
        d = dict(left)
        change(d)
        (out / bench.ROWS_FILE).write_text(json.dumps(d))
        trained.clear()
        assert bench.main(["--data", str(data), "--out", str(out), "--variants",
                           json.dumps(first), "--resume"]) == 0  # fmt: skip
        assert trained == [0]
        said = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("--resume:")]
        assert len(said) == 1 and why in said[0], said
