"""Does C_ex drive the picture? The Disentangling Head NeRF's expression code against the
studio's truth, on trained DH-NeRF workspaces.

    python benchmarks/dhnerf_code_response.py --workspaces WS [WS ...] [--out DIR] [--tag T]

Each workspace is a trained DH-NeRF (e.g. the seeds of ``dhnerf-table2``'s full model, under
``<work>/dhnerf-table2_default/ws_full_model*``) on a lit studio folder. For the jaw and the
eye closure, val frame 0 is rendered with the C_ex of the coded training frames where the
factor is smallest and largest, the other codes and the audio fixed, against the studio's same
frame re-rendered with the factor at those two values; the response is the model's change over
the studio's on the pixels carrying 90% of the studio's change (1: C_ex moves the picture there
as the factor does; 0: not at all). ``dhnerf-table1`` and ``-table2`` measure the same on their
DH-NeRF rows (``probes.code_response``); this script measures workspaces trained before they
did. Writes ``dhnerf_code_response[_<tag>].json`` + ``.md`` and, for the first workspace, the
code-traversal strip ``_traversal.png``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.common import RESULTS, commit, machine, trained_folder, write_report  # noqa: E402

__all__ = ["main"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--workspaces", nargs="+", required=True,
        help="trained DH-NeRF workspaces on one lit studio folder (a row's seeds)",
    )  # fmt: skip
    ap.add_argument("--method", default="full model", help="the row the workspaces train")
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON, markdown, PNG go")
    ap.add_argument("--tag", default="", help="suffix of the file names")
    args = ap.parse_args(argv)
    data, error = trained_folder(args.workspaces, "--workspaces")
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not Path(f"{data}.truth").is_dir():
        print(f"error: --workspaces train on {data}, which has no studio truth beside it "
              f"({data}.truth): the response needs the studio", file=sys.stderr)  # fmt: skip
        return 2
    import torch
    from harness.runner_dhnerf import _code_response, _response_lines, _traversal

    torch.set_num_threads(1)
    start = time.perf_counter()
    seeds = []
    for ws in args.workspaces:
        try:
            response = _code_response(ws, data)
        except ValueError as e:
            print(f"error: --workspaces {e}; give a trained DH-NeRF workspace", file=sys.stderr)
            return 2
        seeds.append({"workspace": str(ws), "probes": {"code_response": response}})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "dhnerf_code_response" + (f"_{args.tag}" if args.tag else "")
    strip = _traversal({"workspace": args.workspaces[0]}, data, out / f"{stem}_traversal.png")
    report = {
        "benchmark": "dhnerf_code_response",
        "command": shlex.join(["python", "benchmarks/dhnerf_code_response.py"] + sys.argv[1:]),
        "commit": commit(), "machine": machine(1, 1), "method": args.method, "data": str(data),
        "seeds": seeds, "wall_seconds": time.perf_counter() - start,
        "files": {"traversal": strip.name},
    }  # fmt: skip
    lines = [
        f"# C_ex's response: {args.method} ({len(seeds)} workspace(s))",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`, on `{data}`.",
        *_response_lines({"seeds": seeds}),
        "",
        "Per workspace: "
        + "; ".join(
            f"`{Path(s['workspace']).name}` "
            + ", ".join(
                f"{k.replace('_', ' ')} {v['response']:.2f}"
                for k, v in s["probes"]["code_response"].items()
                if v["response"] is not None
            )  # fmt: skip
            for s in seeds
        )
        + ".",
        "",
        f"Traversal (the first workspace): `{strip.name}`.",
    ]
    md = "\n".join(lines) + "\n"
    write_report(report, md, out, stem)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
