"""Pools side by side in one budget of cores (harness.workers.alongside, sharing_cores), and
Table 1 training the rows that need no bundle while LokiTalk's bundle is pre-trained."""

from __future__ import annotations

import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import workers  # noqa: E402


class _Probe:
    """Counts the tasks running at once (the most ever seen) across fake processes."""

    def __init__(self):
        self.lock, self.now, self.most, self.ran = threading.Lock(), 0, 0, []

    def task(self, label: str, seconds: float, fail: bool = False) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1
            self.ran.append(label)
        if fail:
            raise SystemExit(3)


class _Process:
    """A spawn-context Process stand-in: the task runs in a thread (no interpreter start-up,
    and the test process keeps its threads: ``_child`` is not called)."""

    _pids = iter(range(10_000, 20_000))

    def __init__(self, target, args):
        fn, fn_args = args
        self.exitcode, self.pid = None, next(self._pids)

        def run():
            try:
                fn(*fn_args)
                self.exitcode = 0
            except SystemExit as e:
                self.exitcode = e.code

        self._thread = threading.Thread(target=run, daemon=True)

    def start(self):
        self._thread.start()

    def is_alive(self):
        return self._thread.is_alive()

    def terminate(self):
        pass

    def join(self):
        self._thread.join()


@pytest.fixture
def fake_processes(monkeypatch):
    class Context:
        Process = _Process

    monkeypatch.setattr(workers.mp, "get_context", lambda kind: Context)


def test_pools_alongside_never_run_more_processes_than_cores(fake_processes):
    probe = _Probe()
    side_tasks = [(f"s{k}", probe.task, (f"s{k}", 0.3)) for k in range(3)]
    main_tasks = [(f"m{k}", probe.task, (f"m{k}", 0.3)) for k in range(3)]

    def side():
        workers.run_pool(side_tasks, parallel=1)
        return "side"

    def main():
        workers.run_pool(main_tasks, parallel=2)
        return "main"

    assert workers.alongside(side, main, parallel=2) == ("side", "main")
    assert sorted(probe.ran) == ["m0", "m1", "m2", "s0", "s1", "s2"]
    assert probe.most == 2  # both pools ran at once, never three processes together
    assert workers._CORES is None  # the block is left


def test_the_side_keeps_a_core_for_main_while_it_runs_and_takes_every_core_after(
    fake_processes,
):
    side_probe, round_one, side_started = _Probe(), threading.Event(), threading.Event()
    side_most = []

    def task(label):
        side_started.set()
        side_probe.task(label, 0.2)

    def side():
        tasks = [(f"s{k}", task, (f"s{k}",)) for k in range(3)]
        workers.run_pool(tasks, parallel=2)  # side starts first; main's process comes beside
        side_most.append(side_probe.most)
        round_one.set()
        assert workers._CORES.main_done.wait(timeout=30)
        side_probe.most = 0
        workers.run_pool(tasks, parallel=2)
        side_most.append(side_probe.most)

    def main():
        assert side_started.wait(timeout=30)
        workers.run_pool([("m", lambda: round_one.wait(timeout=30), ())], parallel=2)

    workers.alongside(side, main, parallel=2)
    assert side_most[1] == 2  # main had ended: the side ran on both cores


def test_the_sides_slots_are_capped_at_all_but_one_until_main_is_done():
    cores, got = workers._Cores(3), {}

    def side():
        got["while main runs"] = [cores.take() for _ in range(3)]
        cores.main_done.set()
        got["after main"] = cores.take()
        for _ in range(3):
            cores.give()

    cores.side_thread = threading.Thread(target=side)
    cores.side_thread.start()
    cores.side_thread.join()
    assert got == {"while main runs": [True, True, False], "after main": True}
    assert cores.side_held == 0
    assert [cores.take() for _ in range(4)] == [True, True, True, False]  # main: every slot


def test_without_sharing_a_pool_keeps_its_own_parallel(fake_processes):
    probe = _Probe()
    workers.run_pool([(f"t{k}", probe.task, (f"t{k}", 0.3)) for k in range(3)], parallel=3)
    assert probe.most == 3 and len(probe.ran) == 3


def test_a_failure_beside_stops_the_other_pool_and_is_the_error_raised(fake_processes):
    probe = _Probe()

    def side():
        workers.run_pool([("bad", probe.task, ("bad", 0.1, True))], parallel=1)

    def main():
        workers.run_pool([(f"m{k}", probe.task, (f"m{k}", 1.5)) for k in range(4)], parallel=1)

    with pytest.raises(RuntimeError, match=r"failed: \['bad'\]"):
        workers.alongside(side, main, parallel=2)
    assert len([r for r in probe.ran if r.startswith("m")]) < 4  # main did not run them all
    assert workers._CORES is None


def test_sharing_blocks_do_not_nest():
    with workers.sharing_cores(2):
        with pytest.raises(RuntimeError, match="do not nest"):
            with workers.sharing_cores(2):
                pass


class _Reached(Exception):
    """Raised where a table's runner leaves training, carrying what it trained."""


def _log():
    """A list of (what, thread name, time) and the function that appends to it."""
    log, lock = [], threading.Lock()

    def note(what):
        with lock:
            log.append((what, threading.current_thread().name, time.perf_counter()))

    return log, note


class _Source:
    """A user's folder as resolve_data returns it, with ``aux`` pre-training folders."""

    audio_dim, studio, label, suffix = 32, False, "folder", ""

    def __init__(self, tmp_path: Path, aux: int):
        self.data, self.tmp, self.aux = tmp_path / "id000", tmp_path, aux

    def pretrain_folders(self, work, n, prof):
        return [self.tmp / f"aux{k}" for k in range(1, self.aux + 1)]

    def portrait_box(self, *folders):
        return (-1.4, -0.5, -1.2, 1.0, 0.9, 1.2)

    def work_dir(self, work, name):
        return Path(work) / name


def test_table1_trains_the_rows_without_a_bundle_while_the_bundle_is_made(tmp_path, monkeypatch):
    from harness import data_sources, idakt_runs, motion_prior, runner_table1, table2
    from harness.runner_table1 import run_table1

    log, note = _log()
    monkeypatch.setattr(data_sources, "resolve_data", lambda *a: _Source(tmp_path, 2))

    def pretrain(jobs, *a, **k):
        note("pretrain start")
        time.sleep(0.5)
        note("pretrain end")
        return {("rsdf", 2): {"path": "/bundle"}}

    def run_seeded(methods, seeds, data, work, parallel=2, **k):
        names = [m["name"] for m in methods]
        note(f"train {names} x{parallel}")
        time.sleep(0.3)
        runs = [dict(m, seed=s, key=f"{m['name']} {s}") for m in methods for s in range(seeds)]
        return runs, [{"method": m["name"], "seed": m["seed"]} for m in runs], []

    def reached(runs, rows, *a):
        raise _Reached(runs, rows)

    monkeypatch.setattr(motion_prior, "for_run", lambda *a: {"path": "/a2m.pt"})
    monkeypatch.setattr(idakt_runs, "pretrain_bundles", pretrain)
    monkeypatch.setattr(workers, "run_seeded", run_seeded)
    monkeypatch.setattr(table2, "render_speed", lambda rows, data: {})
    monkeypatch.setattr(runner_table1, "row_metrics", reached)
    chosen = ["ER-NeRF", "ER-NeRF in LokiTalk's portrait box", "LokiTalk",
              "LokiTalk, backbone keeps its audio"]  # fmt: skip
    args = Namespace(
        methods=chosen,
        ablations=True,
        ablation_seeds=["2"],
        seeds=2,
        parallel=2,
        work=str(tmp_path / "work"),
        data=None,
        profile="micro",
        resume=False,
    )
    prof = {"ids": {10: 2}, "pretrain_epochs": 1.0}
    with pytest.raises(_Reached) as got:
        run_table1(args, prof, tmp_path / "out")
    runs, rows = got.value.args
    # one run's order: the table's rows (ablations last), each by seed
    order = [chosen[0], chosen[2], chosen[1], chosen[3]]
    assert [(r["method"], r["seed"]) for r in rows] == [(n, s) for n in order for s in (0, 1)]
    assert [(m["name"], m["seed"]) for m in runs] == [(n, s) for n in order for s in (0, 1)]
    by = {what: (thread, t) for what, thread, t in log}
    early = "train ['ER-NeRF', \"ER-NeRF in LokiTalk's portrait box\"] x2"
    late = "train ['LokiTalk', 'LokiTalk, backbone keeps its audio'] x2"
    assert set(by) == {early, late, "pretrain start", "pretrain end"}
    assert by[early][0] == "harness-alongside" and by[late][0] == "MainThread"
    assert by["pretrain start"][1] <= by[early][1] + 0.25 < by["pretrain end"][1]  # side by side
    assert by[late][1] >= by["pretrain end"][1]  # LokiTalk's rows wait for their bundle


def test_table2_trains_the_rows_that_take_no_signal_model_while_those_train(tmp_path, monkeypatch):
    from harness import data_sources, table2
    from harness.runners import run_table2

    log, note = _log()
    source = _Source(tmp_path, 0)
    source.data.mkdir()
    (source.data / "track_params.pt").write_bytes(b"")  # the LSTM row is trained
    monkeypatch.setattr(data_sources, "resolve_data", lambda *a: source)

    def run_pool(tasks, parallel=2):
        note("signals: " + ", ".join(label.split(" on ")[0] for label, _, _ in tasks))
        time.sleep(0.5)
        note("signals end")

    def run_seeded(methods, seeds, data, work, parallel=2, **k):
        note(f"train {[m['name'] for m in methods]} x{parallel}")
        time.sleep(0.3)
        runs = [dict(m, seed=s, key=f"{m['name']} {s}") for m in methods for s in range(seeds)]
        return runs, [{"method": m["name"], "seed": m["seed"]} for m in runs], []

    def reached(first, data):
        raise _Reached(first)

    monkeypatch.setattr(workers, "run_pool", run_pool)
    monkeypatch.setattr(workers, "run_seeded", run_seeded)
    monkeypatch.setattr(table2, "render_speed", reached)
    args = Namespace(methods=None, ablations=False, ablation_seeds=None, seeds=2, parallel=2,
                     work=str(tmp_path / "work"), data=None, profile="micro", resume=False,
                     backbone="er_nerf", f_a="audio2motion")  # fmt: skip
    with pytest.raises(_Reached) as got:
        run_table2(args, {"head": 10}, tmp_path / "out")
    (first,) = got.value.args
    assert [r["method"] for r in first] == ["O", "O+D", "O+D+R", table2.LSTM_ROW]  # seed 0
    by = {what: (thread, t) for what, thread, t in log}
    early = "train ['O', 'O+D'] x2"
    late = f"train ['O+D+R', '{table2.LSTM_ROW}'] x2"
    signals = "signals: training GDRF's LSTM, training Audio2Motion"
    assert set(by) == {early, late, signals, "signals end"}
    assert by[early][0] == "harness-alongside" and by[late][0] == "MainThread"
    assert by[early][1] < by["signals end"][1] <= by[late][1]  # side by side, then the rest


def test_table3_trains_the_columns_without_a_bundle_while_the_bundles_are_made(
    tmp_path, monkeypatch
):
    from harness import data_sources, idakt_runs, motion_prior, seeds, table34
    from harness.runners import run_table34

    log, note = _log()
    monkeypatch.setattr(data_sources, "resolve_data", lambda *a: _Source(tmp_path, 10))

    def pretrain(jobs, *a, **k):
        note(f"pretrain {[len(f) for _, f in jobs]}")
        time.sleep(0.5)
        note("pretrain end")
        return {(s, len(f)): {"path": f"/bundle{len(f)}"} for s, f in jobs}

    def run_methods(methods, data, work, parallel=2, truth=True, **k):
        note(f"train {','.join(sorted({str(m['column'][0]) for m in methods}))} x{parallel}")
        time.sleep(0.3)
        return [{"method": m["name"], "key": m["key"], "eval": {}, "train_seconds": 1.0,
                 "workspace": str(tmp_path / m["key"])} for m in methods]  # fmt: skip

    def reached(rows, methods):
        raise _Reached(rows, methods)

    monkeypatch.setattr(idakt_runs, "fraction_folder", lambda data, pct, shares: data)
    monkeypatch.setattr(motion_prior, "for_run", lambda *a: {"path": "/a2m.pt"})
    monkeypatch.setattr(idakt_runs, "pretrain_bundles", pretrain)
    monkeypatch.setattr(idakt_runs, "steps_to_psnr", lambda *a: None)
    monkeypatch.setattr(workers, "run_methods", run_methods)
    monkeypatch.setattr(seeds, "fold_seeds", reached)
    args = Namespace(seeds=2, parallel=2, work=str(tmp_path / "work"), data=None,
                     profile="default")  # fmt: skip
    prof = {"ids": {10: 10, 5: 5, 3: 3}, "pretrain_epochs": 1.0}
    with pytest.raises(_Reached) as got:
        run_table34(args, prof, tmp_path / "out", "table3")
    rows, methods = got.value.args
    # one run's order: every column as a single pool would have them (the 50% column seeded)
    expect = [m["key"] for m in seeds.seeded_methods(
        table34.finetune_methods("table3", prof, {("rsdf", n): {"path": "b"} for n in (3, 5, 10)},
                                 {100: "d", 50: "d", 25: "d"}, "default", ["X = 1"]),
        2, select=table34.seeded_column("table3"))]  # fmt: skip
    assert [r["key"] for r in rows] == [m["key"] for m in methods] == expect
    by = {what: (thread, t) for what, thread, t in log}
    early, late = "train 0,ER-NeRF x2", "train 10,3,5 x2"
    assert set(by) == {early, "pretrain [10, 5, 3]", "pretrain end", late}
    assert by[early][0] == "harness-alongside"  # the columns trained from scratch, beside
    assert by["pretrain [10, 5, 3]"][1] <= by[early][1] + 0.25 < by["pretrain end"][1]
    assert by[late][1] >= by["pretrain end"][1]
    assert all("/a2m.pt" in " ".join(m["bindings"]) for m in methods if m["column"][0] == 0)


def test_the_bundle_with_the_most_identities_pre_trains_first():
    from harness import table34

    aux = [Path(f"aux{k}") for k in range(10)]
    jobs = table34.pretrain_jobs("table3", {"ids": {10: 10, 5: 5, 3: 3}}, aux)
    assert [(s, len(f)) for s, f in jobs] == [("rsdf", 10), ("rsdf", 5), ("rsdf", 3)]
    assert table34.needs_bundle(3) and not table34.needs_bundle(0)
    assert not table34.needs_bundle("ER-NeRF")
    assert all(not table34.needs_bundle(m["column"][0]) for m in table34.finetune_methods(
        "table4", {"ids": {10: 10, 5: 5, 3: 3}}, None, {100: "d", 50: "d", 25: "d"},
        "micro", []))  # fmt: skip


def test_seeds_repeat_table3s_100_and_50_percent_columns_and_every_column_of_table4():
    from harness import seeds, table34

    prof, folders = {"ids": {10: 10, 5: 5, 3: 3}}, {100: "d", 50: "d", 25: "d"}
    bundles = {(s, n): {"path": "b"} for s in ("rsdf", "er_nerf") for n in (3, 5, 10)}
    counts = {}
    for t in ("table3", "table4"):
        cols = table34.finetune_methods(t, prof, bundles, folders, "micro", [])
        runs = seeds.seeded_methods(cols, 3, select=table34.seeded_column(t))
        counts[t] = {m["key"]: sum(r["cell"] == m["key"] for r in runs) for m in cols}
    assert {k: n for k, n in counts["table3"].items() if n == 3} == {
        "0 ids 100 None": 3,
        "10 ids 100 short": 3,
        "ER-NeRF ids 100 None": 3,
        "0 ids 50 None": 3,
        "3 ids 50 short": 3,
        "5 ids 50 short": 3,
        "10 ids 50 short": 3,
    }
    assert counts["table3"]["10 ids 100 paper"] == counts["table3"]["10 ids 25 short"] == 1
    assert set(counts["table4"].values()) == {3} and len(counts["table4"]) == 5


def test_methods_choose_table34_columns_and_their_bundles_only():
    from harness import table34

    prof, folders = {"ids": {10: 10, 5: 5, 3: 3}}, {100: "d", 50: "d", 25: "d"}
    bundles = {(s, n): {"path": f"b{n}"} for s in ("rsdf", "er_nerf") for n in (3, 5, 10)}
    names = table34.column_names("table3", prof)
    assert names == [
        "0 ids, 100%",
        "10 ids, 100%",
        "10 ids, 50%",
        "10 ids, 25%",
        "5 ids, 50%",
        "3 ids, 50%",
        "ER-NeRF, 100%",
        "0 ids, 50%",
        "10 ids, 100%, paper rates",
    ]
    assert [m["name"] for m in table34.finetune_methods("table3", prof, bundles, folders, "micro",
                                                        [])] == names  # fmt: skip
    chosen = table34.check_chosen("table3", prof, ["10 ids, 100%", "0 ids, 100%"])
    assert chosen == {(0, 100, "short"), (10, 100, "short")}
    got = table34.finetune_methods("table3", prof, bundles, folders, "micro", ["X = 1"], chosen)
    assert [m["name"] for m in got] == ["0 ids, 100%", "10 ids, 100%"]  # the table's order
    assert "b10" in " ".join(got[1]["bindings"]) and "b10" not in " ".join(got[0]["bindings"])
    aux = [Path(f"aux{k}") for k in range(10)]
    assert [len(f) for _, f in table34.pretrain_jobs("table3", prof, aux, chosen)] == [10]
    five = table34.check_chosen("table3", prof, ["0 ids, 100%", "5 ids, 50%", "3 ids, 50%"])
    assert [len(f) for _, f in table34.pretrain_jobs("table3", prof, aux, five)] == [5, 3]
    assert table34.check_chosen("table3", prof, None) is None
    assert table34.column_names("table4", prof)[:2] == ["ER-NeRF, 100%", "ER-NeRF, 50%"]
    with pytest.raises(ValueError, match=r"--methods: no row named \['7 ids, 100%'\] in table3"):
        table34.check_chosen("table3", prof, ["0 ids, 100%", "7 ids, 100%"])
    with pytest.raises(ValueError, match="threshold comes from '0 ids, 100%'; name it too"):
        table34.check_chosen("table3", prof, ["10 ids, 100%"])
    with pytest.raises(ValueError, match="comes from 'ER-NeRF, 100%'"):
        table34.check_chosen("table4", prof, ["10 ids, 100%"])


def test_table34_markdown_names_the_seeded_rows():
    from harness import table34

    def row(ids, pct, n):
        return {"column": [ids, pct], "seeds": [{"seed": k} for k in range(n)]}

    report = {"seeds": [0, 1, 2], "results": [row(0, 100, 3), row("ER-NeRF", 100, 3),
                                               row(10, 25, 1)]}  # fmt: skip
    assert table34._seeded_rows(report) == "The rows 0 ids 100%, ER-NeRF 100%"
    report["results"] = report["results"][:2]
    assert table34._seeded_rows(report) == "Every row"
    t4 = {"table": "table4", "results": [row(0, 100, 3), row(10, 100, 1)]}
    assert table34._seeded_rows(t4) == "The rows ER-NeRF 100%"


def test_run_table34_refuses_a_bad_methods_before_anything_is_made(tmp_path, monkeypatch):
    from harness import data_sources
    from harness.runners import run_table34

    def never(*a):
        raise AssertionError("data resolved before --methods was checked")

    monkeypatch.setattr(data_sources, "resolve_data", never)
    args = Namespace(seeds=1, parallel=2, work=str(tmp_path / "work"), data=None,
                     profile="default", methods=["10 ids, 50%"])  # fmt: skip
    prof = {"ids": {10: 10, 5: 5, 3: 3}, "pretrain_epochs": 1.0}
    with pytest.raises(SystemExit, match="name it too"):
        run_table34(args, prof, tmp_path / "out", "table4")
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()


def test_table34_markdown_names_the_paper_rates_row_only_when_it_is_there(tmp_path):
    import json

    from harness import table34

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/table3_seeds/table3.json"
    report = json.loads(path.read_text())
    assert "paper's fine-tune rates" not in table34.markdown(report)
    paper = dict(report["results"][1], finetune_rates="paper")
    report["results"].append(paper)
    assert "the last row repeats a column with the paper's" in table34.markdown(report)
