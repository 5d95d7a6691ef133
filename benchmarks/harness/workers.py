"""Training one method of a table in its own process (one thread), then evaluating it.

A method is a dict: ``name`` (row label), ``configs`` (gin files), ``bindings`` (gin lines)
and optionally ``data`` (its own folder instead of the table's), ``key`` (names its workspace
when several methods share a label, e.g. seeds; the name otherwise) and ``val_background``
(the val frames' background: "bc" by default, "torso" to score the head alone).
:func:`run_methods` trains them ``parallel`` at a time in the harness's one process pool
(:func:`run_pool`, which the pre-training and the Audio2Motion VAE use too) and returns one
row each: wall time per stage, the evaluation on the val split and the workspace path.
:func:`alongside` runs two such pools at once in one budget of cores (rows that need no
pre-trained bundle train while the bundle is made).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Stopped", "alongside", "beside_pretraining", "evaluate_again", "in_table_order",
           "run_seeded", "seeded_runs",
           "evaluate_workspace", "finished_row", "fit_picks", "fit_psnr", "landmark_detector",
           "refuse_replacing", "replaced_rows", "resume_refusal", "run_methods", "run_pool",
           "sharing_cores", "train_and_evaluate", "val_background", "TABLE_CONFIGS"]  # fmt: skip

FIT_FRAMES = 8  # training frames, evenly spaced, that fit_psnr renders


# what every table row trains with after its own files (benchmarks/gin-configs names):
# float32 (the macro base.gin's Trainer.amp reads; a row whose files bind Trainer.amp itself,
# the bf16 ablations, keeps its own), the precision every committed result was trained in,
# where 'auto' now picks bf16 after a float32 first quarter on a CPU with the instructions
# (issue 18). Kept in the row as "table_configs"; a row from before them trained float32 by
# 'auto' then, so --resume compares the row's own files and bindings only.
TABLE_CONFIGS = ("shared/float32",)


def fit_psnr(system, train, frames: int = FIT_FRAMES) -> float:
    """Mean PSNR (dB) of ``frames`` evenly spaced frames of the training split, rendered as
    the val frames are: how well the method fits what it was trained on. PSNR minus this is
    the generalisation gap to unseen audio and poses."""
    from lokitalk_plugins.metrics.image import psnr

    values = [psnr(system.render_frame(train[i])["rgb"], train[i].image)
              for i in fit_picks(len(train), frames)]  # fmt: skip
    return sum(values) / len(values)


def fit_picks(n: int, frames: int = FIT_FRAMES) -> list[int]:
    """The indices of ``frames`` evenly spaced frames of a training split of ``n`` frames
    (all of them when it has fewer): the frames :func:`fit_psnr` renders."""
    return sorted({round(i * (n - 1) / max(1, frames - 1)) for i in range(min(frames, n))})


def train_and_evaluate(method: dict, data: str, workspace: str, out: str, truth: bool) -> None:
    """The body of one worker process: train, evaluate, write the row as JSON to ``out``.
    The method's configs (``benchmarks/...`` names, :mod:`.experiments`) are opened in this
    checkout; the row keeps them as named."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import write_run
    from lokitalk_plugins.train import train_from_config

    from .common import package_tree, peak_rss_mb
    from .experiments import config, resolve

    configs, bindings = list(method["configs"]), list(method["bindings"])
    paths = [resolve(c) for c in configs] + [resolve(config(c)) for c in TABLE_CONFIGS]
    write_run(Path(workspace), Path(data), paths, bindings, "aud.npy")
    t0 = time.perf_counter()
    summary = train_from_config(paths, bindings, data=data, workspace=workspace, progress=False)
    train_seconds = time.perf_counter() - t0
    row = {
        "method": method["name"],
        "configs": configs,
        "table_configs": list(TABLE_CONFIGS),
        "bindings": bindings,
        "workspace": workspace,
        "train_seconds": train_seconds,
        "stages": summary["stages"],
        "eval": evaluate_workspace(method, data, workspace, truth),
        "val_background": val_background(method),
        "peak_rss_mb": peak_rss_mb(),
        "package_tree": package_tree(),
    }
    Path(out).write_text(json.dumps(row, default=str))


def val_background(method_or_row: dict) -> str:
    """The val frames' background a method is scored over (a row: was scored over): "bc" by
    default, "torso" to score the head alone (GDRF's and the DH-NeRF's head-stage tables)."""
    return method_or_row.get("val_background", "bc")


def evaluate_again(method: dict, data: str, out: str, truth: bool) -> None:
    """A pool task: the row at ``out`` (a finished training of ``method``) scored again over
    the method's val background; its training and the rest of the row are kept."""
    row = json.loads(Path(out).read_text())
    row["eval"] = evaluate_workspace(method, data, row["workspace"], truth)
    row["val_background"] = val_background(method)
    Path(out).write_text(json.dumps(row, default=str))


def evaluate_workspace(method: dict, data: str, workspace: str, truth: bool) -> dict:
    """Score a trained workspace on ``data``'s val split over the method's val background:
    the evaluation dict (metrics, sync, region PSNRs, fit PSNR on the train split, the
    landmark detector)."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.train.evaluate import evaluate

    # render_bindings: gin bindings for scoring only (how the trained system renders)
    system, _run, _stage = load_system(Path(workspace), method.get("render_bindings", ()))
    background = val_background(method)
    val = TalkingHeadFolder(data, split="val", background=background, progress=False)
    detector, detector_name = landmark_detector()
    result = evaluate(
        system, val, landmarks=detector, progress=False, truth=load_truth(data) if truth else None
    )
    train = TalkingHeadFolder(data, split="train", background=background, progress=False)
    result["fit_psnr"] = fit_psnr(system, train)
    if truth:
        from .measures import region_psnr

        result.update(region_psnr(system, val, load_truth(data)))
    result["landmark_detector"] = detector_name
    if detector is None:
        result["landmark_detector_note"] = (
            "the [landmarks] extra is not installed (pip install lokitalk-plugins[landmarks])"
        )
    result.pop("per_frame", None)
    return result


def landmark_detector():
    """(LandmarkSource or None, its name): MediaPipe Face Mesh when the ``landmarks`` extra is
    installed, else None ("none": LMD and LMD-E are reported n/a)."""
    try:
        from lokitalk_plugins.metrics.mediapipe_landmarks import MediaPipeLandmarks

        return MediaPipeLandmarks(), "mediapipe-facemesh"
    except ImportError:
        return None, "none"


def finished_row(method: dict, work: Path, data) -> dict | None:
    """The row an earlier run left for ``method`` under ``work`` when it trained the same
    gin files and bindings on the same folder with the same package source (the git trees of
    ``lokitalk_plugins/``, ``adapters/`` and ``baselines/``, clean;
    :func:`~.common.package_tree`), else None:
    ``run_methods(resume=True)`` reuses it. :func:`resume_refusal` says why not."""
    row, why = _resumable(method, work, data)
    return row if why is None else None


def resume_refusal(method: dict, work: Path, data) -> str | None:
    """Why the row an earlier run left for ``method`` cannot be reused (None: it can, or
    there is none), in a few words naming what differs."""
    row, why = _resumable(method, work, data)
    return None if why == "no row" else why


def _same_bindings(old: list, new: list) -> bool:
    """Two rows' bindings, equal but for a binding that restates base.gin's default: seed 0's
    seed binding (a run made before its table took ``--seeds`` lacks it)."""
    from .experiments import run_bindings

    default = set(run_bindings(seed=0))
    keep = lambda bs: [b for b in bs if b.strip() not in default]  # noqa: E731
    return keep(list(old)) == keep(list(new))


def _resumable(method: dict, work: Path, data) -> tuple[dict | None, str | None]:
    """(the finished row's JSON, None) when ``method``'s row can be reused, else (None, or the
    row when only its package source differs, why not)."""
    from .common import package_tree, same_source

    row = work / f"row_{_slug(method.get('key', method['name']))}.json"
    if not row.is_file():
        return None, "no row"
    try:
        old = json.loads(row.read_text())
    except json.JSONDecodeError:
        return None, f"{row.name} is not valid JSON"
    if old.get("configs") != list(method["configs"]):
        return None, f"other gin files ({old.get('configs')})"
    if not _same_bindings(old.get("bindings") or [], method["bindings"]):
        return None, f"other bindings ({old.get('bindings')})"
    ws = Path(old.get("workspace", ""))
    ran_on = json.loads((ws / "run.json").read_text()).get("data") if ws.is_dir() else None
    # the workspace records the folder resolved: a folder reached through a symlink is the same
    here = Path(method.get("data", data)).resolve()
    if ran_on is None or Path(ran_on).resolve() != here:
        return None, f"trained on {ran_on}, not {here}" if ran_on else f"no workspace at {ws}"
    code, now = old.get("package_tree"), package_tree()
    if not same_source(code, now):
        return old, f"package source {code}, now {now}"  # the row, for replaced_rows
    return old, None


class Stopped(RuntimeError):
    """A pool ended early because a pool beside it failed or was stopped (:func:`alongside`)."""


class _Cores:
    """The cores pools running side by side share (:func:`sharing_cores`): a slot per
    process, a stop flag that ends every pool when one side fails or is stopped, and (under
    :func:`alongside`) the side's thread, which holds at most all slots but one until the main
    side has ended (``main_done``)."""

    def __init__(self, parallel: int):
        self.parallel = max(1, int(parallel))
        self.slots = threading.BoundedSemaphore(self.parallel)
        self.stop = threading.Event()
        self.main_done = threading.Event()
        self.side_thread: threading.Thread | None = None
        self.side_held = 0
        self.lock = threading.Lock()

    def take(self) -> bool:
        """A slot for the calling thread's pool, if one is free (and, for the side, if it
        holds fewer than all but one while the main side runs)."""
        side = threading.current_thread() is self.side_thread
        with self.lock:
            if side and not self.main_done.is_set() and self.side_held >= self.parallel - 1:
                return False
            if not self.slots.acquire(blocking=False):
                return False
            self.side_held += side
            return True

    def give(self) -> None:
        with self.lock:
            self.side_held -= threading.current_thread() is self.side_thread
            self.slots.release()


_CORES: _Cores | None = None


@contextmanager
def sharing_cores(parallel: int):
    """Within the block, every :func:`run_pool` of this process, in any thread, holds one of
    ``parallel`` slots per process it runs, so pools run side by side never run more than
    ``parallel`` processes together. Yields the shared state (its ``stop`` event ends every
    pool, their processes terminated); leaving the block sets it."""
    global _CORES
    if _CORES is not None:
        raise RuntimeError("sharing_cores blocks do not nest")
    _CORES = _Cores(parallel)
    try:
        yield _CORES
    finally:
        _CORES.stop.set()
        _CORES = None


def alongside(side: Callable[[], object], main: Callable[[], object], parallel: int = 2):
    """``side()`` in a thread while ``main()`` runs here, their pools sharing ``parallel``
    cores (:func:`sharing_cores`) -> (side's value, main's value). Side's pools hold at most
    ``parallel - 1`` processes while main runs, so main always has a core, and every core
    once main has ended. An error of either stops the other's pool (:class:`Stopped`); the
    first cause is raised once both have ended."""
    box: dict = {}

    def run_side() -> None:
        try:
            box["value"] = side()
        except BaseException as e:  # raised again in the calling thread
            box["error"] = e
            if _CORES is not None:
                _CORES.stop.set()

    with sharing_cores(parallel) as cores:
        thread = threading.Thread(target=run_side, name="harness-alongside", daemon=True)
        cores.side_thread = thread
        thread.start()
        try:
            value = main()
        except BaseException as e:
            cores.stop.set()
            thread.join()
            if isinstance(e, Stopped) and "error" in box:  # main stopped for side's error
                raise box["error"] from None
            raise
        cores.main_done.set()  # the side may use every core now
        thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"], value


def beside_pretraining(early: list[dict], train: Callable[[list[dict], int], object],
                       prepare: Callable[[], object], parallel: int = 2,
                       what: str = "the pre-training"):  # fmt: skip
    """``train(early, k)`` (the rows that need no pre-trained bundle) on the cores that
    ``prepare()`` (the pre-training, then the rows that fine-tune it) leaves free, through
    :func:`alongside` when there are such rows and ``parallel`` > 1, else one after the
    other -> (train's value, prepare's value). ``what``: prepare's first part, as the
    progress line names it."""
    if early and parallel > 1:
        names = [m.get("key", m["name"]) for m in early]
        print(f"training {names} while {what} runs", flush=True)
        return alongside(lambda: train(early, parallel), prepare, parallel)
    return train(early, parallel), prepare()


def in_table_order(full: list[dict], *parts: tuple) -> tuple[list, list, list]:
    """The results of runs of some of ``full``'s methods (each part: :func:`run_seeded`'s
    (runs, rows, resumed keys)) put back into one run's order: ``full``'s rows, each by seed.
    -> (runs, rows, resumed keys)."""
    order = {m["name"]: i for i, m in enumerate(full)}
    pairs = sorted(((m, r) for runs, rows, _ in parts for m, r in zip(runs, rows)),
                   key=lambda p: (order[p[0]["name"]], p[0].get("seed", 0)))  # fmt: skip
    return [p[0] for p in pairs], [p[1] for p in pairs], [k for *_, keys in parts for k in keys]


def run_pool(tasks: list[tuple[str, Callable, tuple]], parallel: int = 2) -> None:
    """The harness's one process pool: each task ``(label, fn, args)`` runs ``fn(*args)`` in
    its own spawned process with one thread, ``parallel`` at a time (training methods,
    pre-training bundles, the Audio2Motion VAE), and within :func:`sharing_cores` only while
    it holds one of the shared slots. Raises RuntimeError naming the tasks whose process
    failed, once the others are done; a stopped harness (or a set shared stop) stops its
    processes."""
    ctx, pending, running, failed = mp.get_context("spawn"), list(tasks), [], []
    cores = _CORES

    def take() -> bool:
        return cores is None or cores.take()

    def give() -> None:
        if cores is not None:
            cores.give()

    try:
        while pending or running:
            if cores is not None and cores.stop.is_set():
                raise Stopped(f"stopped: {[t[0] for t in pending] + [t[0] for t in running]}")
            while pending and len(running) < max(1, parallel) and take():
                label, fn, args = pending.pop(0)
                p = ctx.Process(target=_child, args=(fn, args))
                try:
                    p.start()
                except BaseException:
                    give()
                    raise
                print(f"[{time.strftime('%H:%M:%S')}] {label} (pid {p.pid})", flush=True)
                running.append((label, p))
            time.sleep(1.0)
            for label, p in list(running):
                if not p.is_alive():
                    running.remove((label, p))
                    give()
                    stamp = time.strftime("%H:%M:%S")
                    print(f"[{stamp}] {label}: done (exit {p.exitcode})", flush=True)
                    if p.exitcode != 0:
                        failed.append(label)
    finally:  # a stopped benchmark stops its trainers too
        for _label, p in running:
            if p.is_alive():
                p.terminate()
                p.join()
            give()
    if failed:
        raise RuntimeError(f"failed: {failed}: see the traceback above")


def _child(fn: Callable, args: tuple) -> None:
    """A pool process: one thread, then the task."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    fn(*args)


def run_methods(
    methods: list[dict],
    data: Path,
    work: Path,
    parallel: int = 2,
    truth: bool = True,
    resume: bool = False,
    rescore: bool = False,
    force: bool = False,
) -> list[dict]:
    """Train and evaluate every method (fresh workspaces under ``work``) in :func:`run_pool`,
    ``parallel`` at a time; raises RuntimeError naming the methods whose process failed.
    resume: a method whose row an earlier (stopped) run finished with the same gin files,
    bindings and folder is not trained again; its row is returned with ``resumed`` True (and
    scored again when it was scored over another val background than the method asks, or
    always with ``rescore``: e.g. on a quiet machine, where FPS is a timing).
    Methods train seed by seed (every method's seed 0 first, then seed 1, ...), so a run stopped
    part-way leaves whole seeds to resume from; rows come back in ``methods``' order.
    force: replace rows an earlier run trained with other gin files, bindings, folder or
    package source (without it such rows are refused before anything is trained,
    :func:`replaced_rows`); a row this run would reproduce, or a workspace a stopped run left
    without a row, is trained again either way."""
    if not force:
        refuse_replacing(methods, work, data, resume)
    work.mkdir(parents=True, exist_ok=True)
    reused, tasks = set(), []
    if resume:
        for m in methods:
            key = m.get("key", m["name"])
            row, why = _resumable(m, work, data)
            if why is None:
                reused.add(key)
                print(f"reusing {key}: an earlier run finished it", flush=True)
                other = val_background(row) != val_background(m)
                if other or rescore:  # the training stands
                    why_again = (f"over '{val_background(m)}', not '{val_background(row)}'"
                                 if other else "asked to (--rescore)")  # fmt: skip
                    print(f"scoring {key} again: {why_again}", flush=True)
                    out = str(work / f"row_{_slug(key)}.json")
                    args = (m, str(m.get("data", data)), out, truth)
                    tasks.append((f"scoring {key}", evaluate_again, args))
            elif why != "no row":
                print(f"training {key} again (its earlier row is replaced): {why}", flush=True)
    for m in sorted(methods, key=lambda m: m.get("seed", 0)):  # stable: methods' order within
        key = m.get("key", m["name"])
        if key in reused:
            continue
        slug = _slug(key)
        ws, row = work / f"ws_{slug}", work / f"row_{slug}.json"
        shutil.rmtree(ws, ignore_errors=True)
        row.unlink(missing_ok=True)
        args = (m, str(m.get("data", data)), str(ws), str(row), truth)
        tasks.append((f"training {key}", train_and_evaluate, args))
    run_pool(tasks, parallel)
    rows = []
    for m in methods:
        key = m.get("key", m["name"])
        row = json.loads((work / f"row_{_slug(key)}.json").read_text())
        rows.append(dict(row, resumed=True) if key in reused else row)
    return rows


def replaced_rows(methods: list[dict], work: Path, data) -> list[tuple[str, str]]:
    """[(key, why)]: the methods whose finished row in ``work`` an earlier run trained with
    other gin files, bindings, folder or package source (a run of them would replace it).
    Package sources count as other only when both are known and their committed trees differ:
    a row of the same trees with local edits (``+dirty``), or of an unknown source, is one a
    user iterating on the code trains again."""
    from .common import package_tree

    out = []
    for m in methods:
        row, why = _resumable(m, work, data)
        if why is None or why == "no row":
            continue
        if why.startswith("package source "):
            a, b = _committed(row.get("package_tree")), _committed(package_tree())
            if a is None or b is None or a == b:
                continue
        out.append((m.get("key", m["name"]), why))
    return out


def _committed(tree: str | None) -> str | None:
    """The committed trees of a :func:`~.common.package_tree` value (None: unknown)."""
    return None if not tree or tree == "unknown" else tree.split("+")[0]


def refuse_replacing(methods: list[dict], work: Path, data, resume: bool = False) -> None:
    """SystemExit (two lines) when training ``methods`` would replace rows another run left
    in ``work`` (:func:`replaced_rows`), naming them and the flags that decide."""
    found = replaced_rows(methods, work, data)
    if found:
        (key, why), more = found[0], len(found) - 1
        also = f" (and {more} more)" if more else ""
        keep = "" if resume else "--resume reuses only rows that match; "
        raise SystemExit(
            f"--work {work}: the row of '{key}'{also} an earlier run trained differs from this "
            f"run's ({why}); training again would replace it.\n"
            f"{keep}pass --force to replace such rows, or give another --work"
        )


def seeded_runs(methods: list[dict], seeds: int, ablation_seeds: dict | None = None) -> list[dict]:
    """The runs :func:`run_seeded` trains: every method once per seed, an ablation row (one
    with an ``ablation`` record) ``ablation_seeds[name]`` times (default once)."""
    from .seeds import seeded_methods

    def count(m: dict) -> int:
        return (ablation_seeds or {}).get(m["name"], 1) if "ablation" in m else seeds

    return seeded_methods(methods, seeds, count=count)


def run_seeded(methods: list[dict], seeds: int, data: Path, work: Path, parallel: int = 2,
               truth: bool = True, resume: bool = False,
               ablation_seeds: dict | None = None, force: bool = False):  # fmt: skip
    """Every method once per seed (:func:`harness.seeds.seeded_methods`; an ablation row, one
    with an ``ablation`` record, ``ablation_seeds[name]`` times, default once) through
    :func:`run_methods` -> (the seeded methods, their rows in the same order, each ablation
    row with its method's ``ablation`` record, the keys of the rows a stopped run had
    finished)."""
    runs = seeded_runs(methods, seeds, ablation_seeds)
    rows = run_methods(runs, data, work, parallel=parallel, truth=truth, resume=resume,
                       force=force)  # fmt: skip
    for m, r in zip(runs, rows):
        if "ablation" in m:
            r["ablation"] = m["ablation"]
    return runs, rows, [m["key"] for m, r in zip(runs, rows) if r.get("resumed")]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
