"""Why the Disentangling Head NeRF's codes miss the probe targets: the code extractor's own
codes C̄, probed per factor, beside what a linear probe of the frames' pixels reaches.

The DH-NeRF initialises its per-frame codes from the extractor and L_dis (eq. 6) holds them
near the extractor's C̄, so a code the extractor does not carry the model rarely learns. This
benchmark trains the studio extractor (``studio_code_extractor``) in several settings (the
whole frame at 32 px as the tables trained it before; the window over the eyes and mouth,
read by every code or by C_ex alone; 4, 8 or 16 identities in the bank; seeds) and probes each
C̄ on the lit studio identity 0's training frames exactly as ``dhnerf-table1`` probes the
learned codes (ridge, fitted on the first 70% of the frames, R² on the last 30%), per
factor: jaw, lip width, eye closure (the mean of the three is the table's "C_ex ->
expression") and the light. The ceiling rows fit the same probe to the frames' pixels
(resized to 32 and 64 px; the better of two ridge strengths per factor): a factor that even
the pixels do not predict linearly on held-out frames is one the target asks a lot of.

    python benchmarks/dhnerf_extractor_probe.py                       # default variants
    python benchmarks/dhnerf_extractor_probe.py --variants '{}' '{"identities": 8}'

``--variants``: JSON objects of ``studio_code_extractor`` keywords (identities, expressions,
lights, poses, grid, render_size, crop, crop_codes, relative, seed, steps, hardness, threads
and the extractor's size, width, ...) over its defaults; ``'{}'`` is the setting
``dhnerf-table1`` trains (``EXTRACTOR_STEPS`` of the profile). ``"supervised": true`` in a
variant trains the same extractor on the same bank with the bank's true expressions instead
of contrastive pairs (mean squared error of C̄_ex's first three numbers to jaw, lip width
and eye closure; the other codes stay at their initial weights): what this trunk, at this
size, can learn from this bank to read on the clip's frames at best, beside what the
contrastive pairs teach it. ``--validate N`` also reads each extractor's C̄_ex on N studio
people after its bank's (``baselines/dhnerf/validate.py``; each person's read and their
mean): does the read of other people it never saw rank extractors as the test person's does?
A variant with a ``path`` that exists is read from that file, not trained (its recorded bank
and recipe must be the variant's; the row's setting leaves the path out and names it as
``file``). Writes ``dhnerf_extractor_probe.{json,md}`` to ``--out``.

Each variant's row is also written as it ends, to ``dhnerf_extractor_probe_rows.json`` in
``--out`` (removed once the report is written), so a stopped run keeps what it finished:
``--resume`` reuses a row there for a variant of the same setting read on the same folder
with the same ``--steps`` and ``--validate`` and the same clean package source
(``harness.common.package_tree``), and trains the rest.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.common import RESULTS, commit, fmt, machine, write_report  # noqa: E402

__all__ = ["DEFAULT_VARIANTS", "FACTORS", "main", "pixel_ceiling", "probe_factors",
           "ridge_r2_wide", "spread_ratio", "supervised_extractor"]  # fmt: skip

FACTORS = ("jaw", "lip_width", "eye_closure", "light")
# the setting the tables trained before the crop (whole frames at 32 px, 4 identities, 8 random
# expressions, one pose)
WHOLE_FRAME = {"crop": None, "identities": 4, "expressions": 8, "grid": False, "poses": 0,
               "render_size": 32}  # fmt: skip
DEFAULT_VARIANTS = (
    WHOLE_FRAME,
    {"crop_codes": ["id", "ex", "al", "ill"], "identities": 4},
    {"identities": 4},
    {"identities": 8},
    {},
    {"seed": 1},
    {"seed": 2},
)
HELD_OUT = 0.3
# the spread a code may have: its codes of studio identities 1-4 x 4 expressions x 2 lights
REFERENCE_BANK = {"identities": [1, 2, 3, 4], "expressions": 4, "lights": 2}


def _targets(truth, img_ids: np.ndarray) -> dict[str, np.ndarray]:
    light = np.concatenate([truth.light_dir, truth.light_intensity[:, None]], 1)[img_ids]
    out = {k: np.asarray(getattr(truth, k))[img_ids][:, None] for k in FACTORS[:3]}
    return dict(out, light=light)


def _fit_mask(n: int) -> np.ndarray:
    return np.arange(n) < int(round(n * (1 - HELD_OUT)))


def probe_factors(codes: dict, targets: dict, ridge: float = 1.0) -> dict:
    """code name -> factor -> held-out R² (``harness.dhnerf.r2_probe``, its split), plus
    ``expression``: the mean over jaw, lip width and eye closure (the table's column)."""
    from harness.dhnerf import r2_probe

    n = len(next(iter(targets.values())))
    fit = _fit_mask(n)
    out = {}
    for name, c in codes.items():
        r = {f: r2_probe(c, y, fit, ridge) for f, y in targets.items()}
        r["expression"] = float(np.mean([r[f] for f in FACTORS[:3]]))
        out[name] = r
    return out


def ridge_r2_wide(x: np.ndarray, y: np.ndarray, fit: np.ndarray, ridge: float) -> float:
    """``harness.dhnerf.r2_probe`` for inputs wider than the fitted frames (pixels): the same
    standardisation, unpenalised intercept and ridge, solved in its dual form (an [F, F]
    system on the F fitted frames instead of [d, d]). Standardised on the fitted frames, the
    columns have mean 0 there, so the intercept is the fitted mean of y and the weights are
    ``X^T (X X^T + ridge I)^-1 (y - mean)``: the same predictions, hence the same R²."""
    mu, sd = x[fit].mean(0), x[fit].std(0) + 1e-8
    xs = (x - mu) / sd
    a, b = xs[fit], y[fit]
    mean = b.mean(0)
    alpha = np.linalg.solve(a @ a.T + ridge * np.eye(len(a)), b - mean)
    from harness.dhnerf import held_out_r2

    return held_out_r2(y[~fit], xs[~fit] @ (a.T @ alpha) + mean)


def pixel_ceiling(images, targets: dict, sizes=(32, 64), ridges=(10.0, 1e3, 1e5, 1e7)) -> dict:
    """size -> factor -> the better held-out R² of a ridge probe from the pixels."""
    import torch
    import torch.nn.functional as F

    fit = _fit_mask(len(images))
    out = {}
    for s in sizes:
        x = F.interpolate(images.permute(0, 3, 1, 2), size=(s, s), mode="bilinear",
                          align_corners=False).reshape(len(images), -1)  # fmt: skip
        x = x.to(torch.float64).numpy()
        out[s] = {f: max(ridge_r2_wide(x, y, fit, lam) for lam in ridges)
                  for f, y in targets.items()}  # fmt: skip
    return out


def spread_ratio(codes: dict, bank_codes: dict) -> dict:
    """code name -> (mean per-dimension std over the clip's frames) / (the same over the
    reference bank's images): how much a code moves within one person's clip against how
    much it moves between people, expressions and lights. The probes standardise each code,
    so a code that barely moves (a ratio near 0) can still score a high R² on what little
    it carries."""
    return {k: float(codes[k].std(0).mean() / max(bank_codes[k].std(0).mean(), 1e-12))
            for k in codes}  # fmt: skip


def supervised_extractor(**kw):
    """``studio_code_extractor(**kw)`` trained on the bank's true expressions instead of
    contrastive pairs: its ``kw['steps']`` become ``expression_steps`` (full-batch Adam
    steps, lr 1e-3, of the mean squared error between C̄_ex's first three numbers and each
    image's true (jaw, lip width, eye closure); with ``relative`` naming C_ex, both centred
    on each identity's images) and no contrastive step follows. Raises TypeError for
    ex_dim < 3."""
    import inspect

    from lokitalk_plugins.baselines.dhnerf import CodeExtractor, studio_code_extractor

    ex_dim = kw.get("ex_dim", inspect.signature(CodeExtractor).parameters["ex_dim"].default)
    if int(ex_dim) < 3:
        raise TypeError("a supervised variant needs ex_dim >= 3 (jaw, lip width, eye closure)")
    steps = kw.get("steps", inspect.signature(studio_code_extractor).parameters["steps"].default)
    try:
        return studio_code_extractor(**dict(kw, steps=0, expression_steps=steps,
                                            expression_weight=0.0))  # fmt: skip
    except ValueError as e:
        raise TypeError(str(e)) from e


def _file_differs(path: str, kw: dict, supervised: bool) -> str | None:
    """Why the extractor file at ``path`` is not the one ``kw`` would train (None: it is):
    its recorded bank and recipe against ``extractor_bank(**kw)``."""
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_bank, extractor_file_bank

    if supervised:
        return "a supervised variant is trained here; leave out its path"
    saved, now = extractor_file_bank(path), extractor_bank(**kw)
    if saved is None:
        return f"{path} records no pre-training bank; give a file written with its record"
    differ = [f"{k} {saved.get(k)!r} (variant: {now[k]!r})" for k in now if saved.get(k) != now[k]]
    if differ:
        return f"{path} was pre-trained with " + ", ".join(differ) + "; give its setting"
    return None


def _validation(ext, kw: dict, count: int, clips: dict) -> dict:
    """The extractor's C̄_ex read on ``count`` studio people after its bank's
    (``validate.expression_read``: their mean, and each person's; their clips rendered once
    per bank size and image size into ``clips``)."""
    import inspect

    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor
    from lokitalk_plugins.baselines.dhnerf.validate import expression_reads, validation_clips

    defaults = inspect.signature(studio_code_extractor).parameters
    first = int(kw.get("identities", defaults["identities"].default)) + 1
    size = int(kw.get("render_size", defaults["render_size"].default))
    ids = list(range(first, first + count))
    if (first, size) not in clips:
        clips[(first, size)] = validation_clips(ids, size)
    each = expression_reads(ext, clips[(first, size)])
    return {"identities": ids, "read": float(np.mean(each)), "per_person": each}


ROWS_FILE = "dhnerf_extractor_probe_rows.json"


def _run_key(data: Path, steps: int, validate: int) -> dict:
    """What a finished row must share with this run to be reused by ``--resume``."""
    from harness.common import package_tree

    return {"data": str(Path(data).resolve()), "steps": steps, "validate": validate,
            "package_tree": package_tree()}  # fmt: skip


def _finished_rows(out: Path, key: dict) -> tuple[list, str | None]:
    """The rows a stopped run left in ``out`` (its :data:`ROWS_FILE`) when they can be reused
    under ``key``, else ([], why not) (why is None where there is no file)."""
    from harness.common import same_source

    path = out / ROWS_FILE
    if not path.is_file():
        return [], None
    try:
        old = json.loads(path.read_text())
        rows = old["rows"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return [], f"{path} is not a rows file this script wrote"
    if not same_source(old.get("package_tree"), key["package_tree"]):
        return [], f"{path}: written by other (or uncommitted) package source"
    for k in ("data", "steps", "validate"):
        if old.get(k) != key[k]:
            return [], f"{path}: written with {k} {old.get(k)!r}, not {key[k]!r}"
    return rows, None


def _validated(v: dict) -> str:
    """A validation cell: the mean read, each person's in brackets."""
    each = ", ".join(f"id {k} {_cell(r)}" for k, r in zip(v["identities"], v.get("per_person", [])))
    return _cell(v["read"]) + (f" ({each})" if each else "")


def _seconds(row: dict) -> str:
    """A row's training seconds, or "file" for an extractor read from its file."""
    return "file" if row.get("train_seconds") is None else f"{row['train_seconds']:.0f}"


def _cell(v: float) -> str:
    return fmt(float(v))  # NaN (a factor constant over the held-out frames): n/a


def markdown(report: dict) -> str:
    lines = [
        "# DH-NeRF code extractor: its codes C̄ probed per factor (issue 17)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`; data "
        f"`{report['data']}` ({report['frames']} training frames, probe fitted on the first "
        f"{1 - HELD_OUT:.0%}, R² on the last {HELD_OUT:.0%}); each extractor pre-trained on "
        "its `threads` (2 unless the variant sets it), the probes on one thread "
        f"({report['machine']['platform']}, torch {report['machine']['torch']}).",
        "",
        "| extractor setting | train (s) | C̄_ex: jaw | lip width | eye closure | mean (table's "
        "C_ex -> expression) | C̄_ill -> light | leakage (max of C̄_id, C̄_al) | spread in the "
        "clip / between people: C̄_id, C̄_al |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    valid = any("validation" in v for v in report["variants"])
    if valid:
        lines[-2] += " C̄_ex on people never seen (validation) |"
        lines[-1] += "---|"
    for v in report["variants"]:
        p = v["probes"]
        leak = max(p[k][t] for k in ("id", "al") for t in ("expression", "light"))
        ex = p["ex"]
        sup = bool(v["setting"].get("supervised"))
        rest = ("— | — | —" if sup else f"{_cell(p['ill']['light'])} | {_cell(leak)} | "
                f"{_cell(v['spread']['id'])}, {_cell(v['spread']['al'])}")  # fmt: skip
        lines.append(
            f"| `{json.dumps(v['setting'])}` | {_seconds(v)} | {_cell(ex['jaw'])} | "
            f"{_cell(ex['lip_width'])} | {_cell(ex['eye_closure'])} | "
            f"{_cell(ex['expression'])} | {rest} |"
            + (f" {_validated(v['validation'])} |" if valid and "validation" in v else
               " — |" if valid else "")
        )  # fmt: skip
    for s, c in report["pixel_ceiling"].items():
        lines.append(
            f"| *pixels at {s} px, linear (ceiling of a linear read-out)* | — | "
            f"{_cell(c['jaw'])} | {_cell(c['lip_width'])} | {_cell(c['eye_closure'])} | "
            f"{_cell(np.mean([c[f] for f in FACTORS[:3]]))} | {_cell(c['light'])} | — | — |"
            + (" — |" if valid else "")
        )
    lines += [
        "",
        "`{}` is the setting `dhnerf-table1` trains. Every extractor: one seed (0 unless the "
        "setting names another). Leakage "
        "as the table reads it: the largest R² of C̄_id or C̄_al to expression (the mean of "
        "the three factors) or light. Spread: a code's mean per-dimension std over the clip's "
        "frames over the same on studio identities 1-4 (4 expressions x 2 lights each); the "
        "probes standardise each code, so a code that hardly moves within the clip can still "
        "carry a high R². Pixel ceilings: the best of ridge 10, 1e3, 1e5, 1e7.",
        "",
    ]
    if valid:
        lines += [
            "Validation: the mean R² of the same probe from C̄_ex to jaw, lip width and eye "
            "closure on a 10 s lit clip of each of the studio people after the bank's (never "
            "in it, never identity 0); each person's read in the JSON (`per_person`).",
            "",
        ]
    if any(v["setting"].get("supervised") for v in report["variants"]):
        lines += [
            '`"supervised": true`: the same extractor and bank trained on the bank\'s true '
            "expressions (mean squared error of C̄_ex's first three numbers to jaw, lip width "
            "and eye closure) instead of contrastive pairs, probed the same way: what the "
            "trunk can learn from the bank to read on this unseen identity's frames at best "
            "(its other codes are untrained: —).",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data",
        default=None,
        help="a lit studio folder (default: written to --work, 128 px, 20 s)",
    )
    ap.add_argument("--work", default="runs/cache", help="where the lit studio is written")
    ap.add_argument("--variants", nargs="+", default=None,
                    help="JSON objects of studio_code_extractor keywords")  # fmt: skip
    ap.add_argument("--steps", type=int, default=None,
                    help="extractor steps where a variant gives none (default: the default "
                    "profile's, harness.dhnerf.EXTRACTOR_STEPS)")  # fmt: skip
    ap.add_argument("--validate", type=int, default=0, metavar="N",
                    help="also read each extractor's C̄_ex on N studio people after its "
                    "bank's (0: not)")  # fmt: skip
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--resume", action="store_true",
                    help=f"reuse the rows a stopped run left in --out ({ROWS_FILE})")  # fmt: skip
    args = ap.parse_args(argv)
    if args.validate < 0:
        print(f"error: --validate {args.validate}: give a number of people >= 0",
              file=sys.stderr)  # fmt: skip
        return 2
    variants = []
    for text in args.variants or [json.dumps(v) for v in DEFAULT_VARIANTS]:
        try:
            v = json.loads(text)
        except json.JSONDecodeError as e:
            print(f"error: --variants {text!r}: not JSON ({e.msg}); give objects such as "
                  "'{\"poses\": 16}'", file=sys.stderr)  # fmt: skip
            return 2
        if not isinstance(v, dict):
            print(f"error: --variants {text!r}: give a JSON object", file=sys.stderr)
            return 2
        variants.append(v)
    import torch
    from harness.dhnerf import EXTRACTOR_STEPS, lit_studio

    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.data.studio.factors import factor_bank

    torch.set_num_threads(1)
    start = time.perf_counter()
    if args.data is None:
        data = lit_studio(Path(args.work), {"size": 128, "seconds": 20.0})
    else:
        data = Path(args.data)
        if not (data / "transforms_train.json").is_file():
            print(f"error: --data {data}: no transforms_train.json there; give a studio "
                  "folder written with lighting=True", file=sys.stderr)  # fmt: skip
            return 2
    try:
        truth = load_truth(data)
    except (OSError, ValueError) as e:
        print(f"error: --data {data}: no studio truth beside it ({e})", file=sys.stderr)
        return 2
    if getattr(truth, "light_dir", None) is None:
        print(f"error: --data {data}: written without lighting; the light probe needs "
              "a lit studio folder", file=sys.stderr)  # fmt: skip
        return 2
    ds = TalkingHeadFolder(data, split="train", progress=False)
    img_ids = np.asarray(ds.img_ids)
    images = torch.stack([ds[i].image for i in range(len(ds))])
    targets = _targets(truth, img_ids)
    steps = args.steps or EXTRACTOR_STEPS["default"]
    banks, validation = {}, {}  # validation: the people's clips, per bank and size
    kept = []  # each finished row beside its variant as given (the report's, and --resume's)
    out, key = Path(args.out), _run_key(data, steps, args.validate)
    finished, why = _finished_rows(out, key) if args.resume else ([], None)
    if why:
        print(f"--resume: {why}; training every variant", flush=True)
    for i, v in enumerate(variants, 1):
        done = next((r["row"] for r in finished if r.get("variant") == v), None)
        if done is not None:
            print(f"[{i}/{len(variants)}] extractor {json.dumps(v)}: reused ({ROWS_FILE})",
                  flush=True)  # fmt: skip
            kept.append({"variant": v, "row": done})
            continue
        kw = dict({"steps": steps}, **v)
        supervised = bool(kw.pop("supervised", False))
        print(f"[{i}/{len(variants)}] extractor {json.dumps(v)} ...", flush=True)
        file = kw.get("path") if kw.get("path") and Path(kw["path"]).is_file() else None
        if file:  # read, not trained: the row is the setting the file was trained with
            why = _file_differs(file, kw, supervised)
            if why:
                print(f"error: --variants {json.dumps(v)}: {why}", file=sys.stderr)
                return 2
        t0 = time.perf_counter()
        try:
            ext = (supervised_extractor if supervised else studio_code_extractor)(**kw)
        except TypeError as e:
            print(f"error: --variants {json.dumps(v)}: {e}", file=sys.stderr)
            return 2
        secs = time.perf_counter() - t0
        rsize = int(kw.get("render_size", 32))
        if rsize not in banks:
            banks[rsize] = factor_bank(size=rsize, seed=1, **REFERENCE_BANK).images
        with torch.no_grad():
            codes = {k: c.numpy() for k, c in ext(images).items()}
            ref = {k: c.numpy() for k, c in ext(banks[rsize]).items()}
        setting = {k: x for k, x in v.items() if not (file and k == "path")}
        row = {"setting": setting, "steps": kw["steps"],
               "train_seconds": None if file else secs,
               **({"file": file} if file else {}),
               "probes": probe_factors(codes, targets),
               "spread": spread_ratio(codes, ref)}  # fmt: skip
        if args.validate:
            row["validation"] = _validation(ext, kw, args.validate, validation)
            print(f"    C̄_ex on identities {row['validation']['identities']} (never seen): "
                  f"{_cell(row['validation']['read'])}", flush=True)  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)  # the rows so far, for --resume
        kept.append({"variant": v, "row": row})
        (out / ROWS_FILE).write_text(json.dumps(dict(key, rows=kept), indent=1, default=str))
        ex = row["probes"]["ex"]  # each variant's read as it ends (the report: at the end)
        print(f"    {secs:.0f} s; C̄_ex: jaw {_cell(ex['jaw'])}, lip width "
              f"{_cell(ex['lip_width'])}, eye closure {_cell(ex['eye_closure'])}, mean "
              f"{_cell(ex['expression'])}", flush=True)  # fmt: skip
    report = {
        "benchmark": "dhnerf_extractor_probe",
        "command": shlex.join(
            [
                "python",
                "benchmarks/dhnerf_extractor_probe.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "commit": commit(),
        "machine": machine(1, 1),
        "data": str(data),
        "frames": len(img_ids),
        "held_out": HELD_OUT,
        "variants": [k["row"] for k in kept],
        "pixel_ceiling": {str(k): v for k, v in pixel_ceiling(images, targets).items()},
        "wall_seconds": time.perf_counter() - start,
    }
    md = markdown(report)
    write_report(report, md, out, "dhnerf_extractor_probe")
    (out / ROWS_FILE).unlink(missing_ok=True)  # the report holds every row
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
