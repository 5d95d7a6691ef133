"""Shared pieces of the tables: machine facts, the commit, the studio data, report writing."""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = [
    "BENCH",
    "RESULTS",
    "trained_folder",
    "check_rows",
    "commit",
    "PACKAGE_DIRS",
    "package_tree",
    "fmt",
    "machine",
    "mixed_source",
    "peak_rss_mb",
    "refuse_overwrite",
    "same_source",
    "source_root",
    "studio_identity",
    "write_report",
]

BENCH = Path(__file__).resolve().parents[1]
RESULTS = BENCH / "results"


PACKAGE_DIRS = ("lokitalk_plugins", "adapters", "baselines")  # what pip installs as the package


def source_root(package_dir: Path) -> Path:
    """The checkout (or site-packages) a package folder of :data:`PACKAGE_DIRS` sits in: its
    parent, or its grandparent where it is installed inside ``lokitalk_plugins`` (a wheel)."""
    parent = Path(package_dir).resolve().parent
    return parent.parent if parent.name == "lokitalk_plugins" else parent


def mixed_source(dirs: dict[str, Path]) -> str | None:
    """None when every package folder (module name -> folder) sits in one checkout, else a
    one-line error naming where each comes from: an editable install of one clone imported
    under ``PYTHONPATH`` of another (a git worktree) takes ``adapters`` and ``baselines`` from
    the installed clone, so a report would record one commit while running another's code."""
    roots = {name: source_root(d) for name, d in dirs.items()}
    if len(set(roots.values())) <= 1:
        return None
    where = ", ".join(f"{name} from {root}" for name, root in roots.items())
    return (f"the package's code comes from more than one checkout ({where}); install the "
            "checkout you run (pip install -e .) or link its adapters/ and baselines/ into its "
            "lokitalk_plugins/")  # fmt: skip


def _package_dirs() -> dict[str, Path]:
    import importlib.util

    out = {}
    for name in ("lokitalk_plugins", "lokitalk_plugins.adapters", "lokitalk_plugins.baselines"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            out[name] = Path(spec.origin).parent
    return out


_MIXED = mixed_source(_package_dirs())
if _MIXED:  # before anything trains: the report's commit would not be the code that ran
    raise SystemExit(f"error: {_MIXED}")


def package_tree() -> str:
    """The git tree hashes at HEAD of the package's source folders (:data:`PACKAGE_DIRS`: the
    code that trains and evaluates), joined by "."; ``+dirty`` when their tracked files differ
    from HEAD; ``unknown`` outside a checkout."""
    try:
        trees = []
        for d in PACKAGE_DIRS:
            out = subprocess.run(["git", "rev-parse", f"HEAD:{d}"], cwd=BENCH,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            trees.append(out.stdout.strip())
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", *PACKAGE_DIRS]
        dirty = subprocess.run(status, cwd=BENCH.parent, capture_output=True, text=True)
        return ".".join(trees) + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def same_source(recorded: str | None, now: str) -> bool:
    """Whether work recorded with package source ``recorded`` (:func:`package_tree`) may be
    reused under ``now``: both known, clean and equal."""
    return recorded is not None and "+" not in recorded and recorded != "unknown" and (
        recorded == now)  # fmt: skip


@functools.cache
def commit() -> str:
    """The git commit the benchmark runs (``unknown`` outside a checkout), with ``+dirty``
    when tracked files differ from it: read once, when the harness is imported (below), so a
    report written after the checkout moved still names the code that ran."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=BENCH, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = ["git", "status", "--porcelain", "--untracked-files=no"]
        dirty = subprocess.run(status, cwd=BENCH, capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


commit()  # the code that runs is the code at start


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB (Linux/macOS)."""
    import resource

    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) * scale, 1)


def machine(threads_per_job: int = 1, jobs_in_parallel: int = 1) -> dict:
    import torch

    from lokitalk_plugins.train.allocator import allocator_state
    from lokitalk_plugins.train.runtime import cpu_bf16_support, cpu_model

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_bf16": cpu_bf16_support(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "threads_per_job": threads_per_job,
        "jobs_in_parallel": jobs_in_parallel,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "allocator": allocator_state(),
    }


def blink_tag(gap) -> str:
    """The name suffix of a studio written with blinks ``gap`` = (lo, hi) s apart:
    ``_blinks<lo>-<hi>`` (its folder, caches and result files carry it)."""
    return "_blinks{:g}-{:g}".format(*(float(v) for v in gap))


def torso_tag(follow) -> str:
    """The name suffix of a studio whose torso follows the head ``follow`` of the way:
    ``_torso<k>`` (its folder, caches and result files carry it)."""
    return f"_torso{float(follow):g}"


def light_tag(frame) -> str:
    """The name suffix of a studio whose fixed key light is attached to ``frame`` (``head``):
    ``_<frame>light``; "" for the camera (the default studio)."""
    return "" if frame in (None, "camera") else f"_{frame}light"


def studio_identity(
    work: Path,
    identity: int,
    size: int,
    seconds: float,
    blink_gap: tuple | None = None,
    torso_follow: float | None = None,
    light_frame: str | None = None,
) -> Path:
    """The folder of one studio identity (written once, then reused): ``work/studio_<size>px_
    <seconds>s/id<NNN>`` with its ground truth beside it; with ``blink_gap`` = (lo, hi), blinks
    that far apart in ``work/studio_<size>px_<seconds>s_blinks<lo>-<hi>/id<NNN>``; with
    ``torso_follow`` = k, the torso following the head k of the way, in ``..._torso<k>/``;
    with ``light_frame='head'``, the key light attached to the head, in ``..._headlight/``."""
    from lokitalk_plugins.data.studio import write_identity

    name = f"studio_{size}px_{seconds:.0f}s"
    kw = {}
    if blink_gap is not None:
        kw["blink_gap"] = tuple(float(v) for v in blink_gap)
        name += blink_tag(blink_gap)
    if torso_follow is not None:
        kw["torso_follow"] = float(torso_follow)
        name += torso_tag(torso_follow)
    if light_tag(light_frame):
        kw["light_frame"] = light_frame
        name += light_tag(light_frame)
    folder = Path(work) / name / f"id{identity:03d}"
    if not (folder / "transforms_val.json").exists():
        print(f"writing studio identity {identity} to {folder} ...", flush=True)
        write_identity(folder, identity=identity, seconds=seconds, size=size, seed=0, **kw)
    return folder


def fmt(v, digits: int = 2) -> str:
    """A table cell: n/a for None and NaN, fixed digits for floats."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def cell(row: dict, key: str, digits: int = 2) -> str:
    """A row's metric as a table cell: "mean ± std" when the row folds several seeds
    (``metrics_std``, see :mod:`harness.seeds`), else :func:`fmt` of the value."""
    value = row["metrics"].get(key)
    std = (row.get("metrics_std") or {}).get(key)
    if value is None or std is None:
        return fmt(value, digits)
    return f"{fmt(value, digits)} ± {fmt(std, digits)}"


def refuse_overwrite(parser, out: Path, stem: str, force: bool) -> None:
    """Stop ``parser`` with one line when ``<out>/<stem>.json`` or ``.md`` exists and ``force``
    is not given: a benchmark never overwrites results without ``--force``."""
    files = [Path(out) / f"{stem}.json", Path(out) / f"{stem}.md"]
    if not force and any(f.exists() for f in files):
        parser.error(f"{files[0]} exists: pass --force to overwrite it, or another --out")


def write_report(report: dict, markdown: str, out: Path, stem: str) -> tuple[Path, Path]:
    """Write ``<out>/<stem>.json`` and ``<stem>.md``; returns both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(report, indent=1, default=str))
    md.write_text(markdown)
    return js, md


def check_rows(chosen, names, table: str, hint: str = "") -> None:
    """``--methods``: raise ValueError naming the option, the ``chosen`` rows that are not
    among ``names`` (the rows ``table`` can train) and those rows; ``hint`` follows the table."""
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise ValueError(f"--methods: no row named {unknown} in {table}{hint}; its rows are "
                         f"{list(names)}")  # fmt: skip


def trained_folder(workspaces, flag: str) -> tuple[Path | None, str | None]:
    """(the data folder every one of ``workspaces`` trained on, None), or (None, the error in
    a line naming ``flag``): each must hold ``checkpoints/latest.pt`` and ``run.json``, and all
    must have trained on one folder."""
    datas = set()
    for ws in workspaces:
        run = Path(ws) / "run.json"
        if not (Path(ws) / "checkpoints" / "latest.pt").is_file() or not run.is_file():
            return None, (f"{flag} {ws}: no checkpoints/latest.pt and run.json there; give a "
                          "trained workspace")  # fmt: skip
        datas.add(json.loads(run.read_text())["data"])
    if len(datas) > 1:
        return None, (f"{flag} train on different folders {sorted(datas)}; give the seeds of "
                      "one row on one folder")  # fmt: skip
    return Path(datas.pop()), None
