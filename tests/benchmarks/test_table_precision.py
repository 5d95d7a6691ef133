"""The benchmark tables train in float32 (``harness.workers.TABLE_CONFIGS``: the gin file
``shared/float32``, after every row's files), the precision every committed result used,
while ``Trainer.amp = 'auto'`` picks bf16 after a float32 first quarter on a CPU with the
instructions; a row whose files bind ``Trainer.amp`` (the bf16 ablations) keeps its own."""

from __future__ import annotations

import sys
from pathlib import Path

import gin

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import experiments  # noqa: E402
from harness.workers import TABLE_CONFIGS  # noqa: E402

import lokitalk_plugins.registration  # noqa: E402, F401
from lokitalk_plugins.train.config import parse_config_files  # noqa: E402

MACRO = "TRAINER_AMP/gin.macro"


def _query(configs, *names) -> tuple:
    parse_config_files([experiments.resolve(experiments.config(c)) for c in configs])
    try:
        return tuple(gin.query_parameter(n) for n in names)
    finally:
        gin.clear_config()


def test_the_tables_pin_float32_and_the_bf16_rows_keep_their_own():
    row = ["table2/er_nerf/o_d_r", "profiles/micro"]
    amp, macro = _query(row, "Trainer.amp", "TRAINER_AMP/macro.value")
    assert amp.scoped_selector == MACRO and macro == "auto"  # the package's default
    amp, macro = _query([*row, *TABLE_CONFIGS], "Trainer.amp", "TRAINER_AMP/macro.value")
    assert amp.scoped_selector == MACRO and macro == "off"  # what every table row trains with
    ablation = [*row, "table2/ablations/bf16_float32_start", *TABLE_CONFIGS]
    assert _query(ablation, "Trainer.amp", "Trainer.amp_from") == ("bf16", 0.25)  # its own


def test_a_row_records_the_table_configs_it_trained_with(tmp_path, monkeypatch):
    """train_and_evaluate trains the row's files then TABLE_CONFIGS, and keeps both."""
    import json

    from harness import workers

    seen = {}

    def fake_train(paths, bindings, **kw):
        seen["paths"] = list(paths)
        return {"stages": []}

    import lokitalk_plugins.train as train

    monkeypatch.setattr(train, "train_from_config", fake_train)
    monkeypatch.setattr(workers, "evaluate_workspace", lambda *a: {"psnr": 1.0})
    monkeypatch.setattr("lokitalk_plugins.commands.workspace.write_run", lambda *a: None)
    method = experiments.gin_method("O", "table2/er_nerf/o")
    out = tmp_path / "row.json"
    workers.train_and_evaluate(method, str(tmp_path), str(tmp_path / "ws"), str(out), False)
    want = [experiments.resolve(c) for c in method["configs"]]
    want += [experiments.resolve(experiments.config(c)) for c in TABLE_CONFIGS]
    assert seen["paths"] == want
    row = json.loads(out.read_text())
    assert row["configs"] == method["configs"] and row["table_configs"] == list(TABLE_CONFIGS)
