"""benchmarks/harness/experiments.py: a table's methods are gin files under benchmarks/gin-configs,
the profiles' budgets are gin macros, and the values only a run knows are bound by one function;
no other gin binding is written in the harness's Python."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import gin
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run  # noqa: E402
from harness import dhnerf, experiments, gdrf_tables, table1, table2, table34  # noqa: E402
from harness.baselines import methods as baseline_methods  # noqa: E402
from harness.workers import run_pool  # noqa: E402

# a string literal (plain or f-string, {} for its fields) shaped like a gin binding
BINDING = re.compile(r"^\s*[%@]?[A-Za-z_{][\w./{}\[\]'\"]*\s*=\s*\S")


def gin_binding_literals(source: str) -> list[str]:
    """The string literals of ``source`` that read as gin bindings (``name = value``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if "\n" not in text and BINDING.match(text):
            found.append(text)
    return found


def test_the_harness_writes_no_gin_binding_in_python():
    sample = 'x = [f"head/Trainer.steps = {n}", f"{cls}.audio_in_dim = {k}", \'A.b = 1\']'
    assert gin_binding_literals(sample) == ["head/Trainer.steps = {}", "{}.audio_in_dim = {}",
                                            "A.b = 1"]  # fmt: skip
    assert gin_binding_literals("x = f'--seeds must be >= 1, got {n}'; y = f'{k}: {v}'") == []
    files = [*sorted((ROOT / "benchmarks" / "harness").glob("*.py")), ROOT / "benchmarks/run.py",
             ROOT / "benchmarks/baselines_studio.py"]  # fmt: skip
    found = {p.name: gin_binding_literals(p.read_text()) for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_run_bindings_are_typed_macros():
    lines = experiments.run_bindings(seed=2, audio_in_dim=44, bundle=Path("/b/x"), lipsync=None,
                                     portrait_box=(-1.6, -0.5, -1.2, 1.0, 0.9, 1.2))  # fmt: skip
    assert lines == ["SEED = 2", "AUDIO_IN_DIM = 44", "BUNDLE = '/b/x'",
                     "PORTRAIT_AABB = (-1.6, -0.5, -1.2, 1.0, 0.9, 1.2)",
                     "PORTRAIT_BOUND = 1.75"]  # fmt: skip
    assert experiments.run_bindings(steps=30) == ["STEPS = 30", "STEPS_LOG_EVERY = 1"]
    with pytest.raises(TypeError, match=r"unknown value\(s\) \['steps_'\]"):
        experiments.run_bindings(steps_=3)
    with pytest.raises(TypeError, match="expected an integer, got 2.5"):
        experiments.run_bindings(seed=2.5)
    with pytest.raises(FileNotFoundError, match="no such benchmark config"):
        experiments.config("table2/er_nerf/nothing")


@pytest.mark.parametrize("profile", ["micro", "quick", "default", "full"])
def test_profiles_budget_lives_in_gin(profile):
    settings = run.PROFILES[profile]
    assert experiments.budget(profile) == {
        k: settings[k] for k in ("head", "lips", "torso", "finetune", "rays")
    }
    text = (ROOT / experiments.profile_config(profile)).read_text()
    macros = dict(re.findall(r"^(\w+) = (\d+)", text, re.M))
    assert int(macros["LOG_EVERY"]) == max(1, settings["head"] // 40)
    assert int(macros["FINETUNE_LOG_EVERY"]) == max(1, settings["finetune"] // 40)


def _parsed(method: dict) -> dict:
    """Parse a method's gin files and bindings as the worker does; -> a few resolved values."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    parse_config_files([experiments.resolve(c) for c in method["configs"]], method["bindings"])

    def value(key):
        v = gin.query_parameter(key)
        return v.scoped_configurable_fn() if isinstance(v, gin.config.ConfigurableReference) else v

    try:
        return {"head_steps": value("head/Trainer.steps"), "seed": value("Trainer.seed"),
                "rays": value("TalkingHeadSystem.num_rays"),
                "model": gin.query_parameter("TalkingHeadSystem.model")}  # fmt: skip
    finally:
        gin.clear_config()


def test_every_table_method_parses_with_its_profile_budget():
    run_ = experiments.run_bindings(audio_in_dim=32, seed=3)
    t2 = table2.build_methods("rad_nerf", "micro", run_, studio=False)
    assert [Path(m["configs"][0]).name for m in t2] == ["o.gin", "o_d.gin", "o_d_r.gin"]
    assert t2[0]["configs"][-1] == "benchmarks/gin-configs/shared/user_folder.gin"
    got = _parsed(t2[2])
    assert (got["head_steps"], got["rays"], got["seed"]) == (40, 256, 3)
    t1 = table1.methods("quick", "/b/rsdf", run_)
    assert [m["name"] for m in t1] == ["RAD-NeRF", "ER-NeRF", "LokiTalk"]
    assert "BUNDLE = '/b/rsdf'" in t1[2]["bindings"] and "BUNDLE" not in str(t1[0]["bindings"])
    assert _parsed(t1[0])["head_steps"] == 600
    bundles = {("rsdf", 2): {"path": "/b/r2"}, ("rsdf", 1): {"path": "/b/r1"}}
    folders = {100: "/d", 50: "/d50", 25: "/d25"}
    prof = run.PROFILES["micro"]
    t3 = table34.finetune_methods("table3", prof, bundles, folders, "micro", run_)
    assert [table34.uses_rsdf(m) for m in t3][:2] == [True, True] and not table34.uses_rsdf(t3[6])
    assert _parsed(t3[1])["head_steps"] == 30  # the fine-tune budget
    for m in [
        *t2,
        *t1,
        *t3,
        *baseline_methods(("rad_nerf", "er_nerf"), "long"),
        *dhnerf.table2_methods("micro", {"extractor": "/x/e.pt", "lipsync": "/x/l.pt"}),
        *gdrf_tables.methods("gdrf-table5", 0.002, {5: "c5"}, {"gdrf": "/b/g"}, "micro"),
    ]:
        assert _parsed(m)["model"] is not None, m["name"]


def test_the_f_a_ablation_takes_the_backbones_audio_feature_back():
    from harness import motion_prior

    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    run_ = experiments.run_bindings(audio_in_dim=32)
    for backbone, width in (("er_nerf", 32), ("rad_nerf", 64)):
        odr = next(m for m in table2.build_methods(backbone, "micro", run_, True)
                   if m["name"] == "O+D+R")  # fmt: skip
        odr = motion_prior.with_audio2motion(odr, "/x/a2m.pt")
        (abl,) = [m for m in table2.ablation_methods([odr])
                  if m["name"] == "O+D+R, F_a from the backbone"]  # fmt: skip
        for method, a2m, dim in ((odr, True, 32), (abl, False, width)):
            parse_config_files([experiments.resolve(c) for c in method["configs"]],
                               method["bindings"])  # fmt: skip
            try:
                assert (gin.query_parameter("wrap.audio2motion") is not None) is a2m
                got = gin.query_parameter("RSDF.audio_dim")
                if isinstance(got, gin.config.ConfigurableReference):  # a %MACRO
                    got = got.scoped_configurable_fn()
                assert got == dim, (backbone, method["name"])
            finally:
                gin.clear_config()


def test_benchmarks_on_sys_path_leave_packaged_includes_alone(tmp_path):
    """run.py and these tests put benchmarks/ first on sys.path; a user's file that includes
    'configs/rad_nerf.gin' still parses (no benchmarks/configs namespace package for gin's
    package-path reader to find)."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.train.config import parse_config_files

    assert str(ROOT / "benchmarks") in sys.path
    mine = tmp_path / "mine.gin"
    mine.write_text("include 'configs/rad_nerf.gin'\nTrainer.log_every = 10\n")
    parse_config_files([mine])
    try:
        assert gin.query_parameter("Trainer.log_every") == 10
    finally:
        gin.clear_config()


def _write(path: str, text: str) -> None:
    Path(path).write_text(text)


def _fail() -> None:
    raise SystemExit(3)


def test_the_one_pool_runs_each_task_in_a_process_and_names_failures(tmp_path):
    tasks = [("write a", _write, (str(tmp_path / "a"), "1")), ("fail", _fail, ())]
    with pytest.raises(RuntimeError, match=r"failed: \['fail'\]"):
        run_pool(tasks, parallel=2)
    assert (tmp_path / "a").read_text() == "1"
