"""Reproduce the papers' tables on the synthetic studio or on your own preprocessed folders.

    python benchmarks/run.py table2                     # default profile, on the studio
    python benchmarks/run.py table2 --profile quick     # a few minutes on 2 cores
    python benchmarks/run.py table2 --seeds 3 --backbone rad_nerf   # mean ± std, RAD-NeRF
    python benchmarks/run.py table2 --data path/to/obama --out my_results
    python benchmarks/run.py table3 --data path/to/obama path/to/aux1 path/to/aux2 ...

Tables:
  table1   LokiTalk Table 1: RAD-NeRF, ER-NeRF and LokiTalk (RSDF + ID-AKT on ER-NeRF), with
           cross-driving (an utterance of another identity, against the studio's render)
  table2   LokiTalk Table 2: backbone (O), joint deformation (O+D), RSDF (O+D+R)
  table3   LokiTalk Table 3: ID-AKT pre-training on 0/10/5/3 identities x fine-tune 100/50/25 %
  table4   LokiTalk Table 4: ID-AKT on the ER-NeRF field, pre-train 0/10 x fine-tune 100/50 %
  all      every table above, in order
  dhnerf-table1  Disentangling Head NeRF Table 1: RAD-NeRF, ER-NeRF, LokiTalk (RSDF) and the
           DH-NeRF on the lit studio identity, with the probes of the DH-NeRF's codes
  dhnerf-table2  DH-NeRF Table 2: full model, without the lip-sync module, without L_dis
  gdrf-table1   GDRF Table 1: 3/5/10 s clips of an unseen identity; RAD-NeRF and ER-NeRF from
                scratch, an image-space warping GDRF (our DFRF stand-in), GDRF fine-tuned
  gdrf-table2   GDRF Table 2: the 5 s clip, fine-tune steps 1k/5k/10k x the profile's scale
  gdrf-table5   GDRF Table 5: 2/4/6/8 references
  gdrf-table6   GDRF Table 6: the stand-in, WarpNet, WarpNet + LSTM, GDRF (+ identity)
  gdrf-table34  GDRF Tables 3 and 4: printed as not run, with the reason
  gdrf-all      every GDRF table above (studio only; see benchmarks/harness/gdrf_tables.py)
  baselines     RAD-NeRF and ER-NeRF side by side with their packaged recipes (head, lips,
                torso) on studio identity 0, scored on val (--backbones; --profile long: the
                whole 20-minute budget of a backbone, 8000 head steps)

Profiles (video size and length of the studio identity, training steps):
  micro    32 px, 1 s, a few dozen steps, 2 auxiliary identities, 1 pre-training epoch: the
           check CI runs
  quick    64 px, 4 s, 600 head steps; tables 3-4: 4 auxiliary identities, 1.5 pre-training
           epochs and 300 fine-tune steps: minutes
  default  128 px, 20 s, 4000 head steps; tables 3-4: 10 auxiliary identities of 8 s, 5
           pre-training epochs and 2000 fine-tune steps: the profile whose numbers we report
  full     128 px, 20 s, 8000 head steps; tables 3-4: auxiliary clips of 20 s, the paper's 50
           pre-training epochs, 4000 fine-tune steps
A pre-training epoch is one pass over every auxiliary identity's training frames (a step trains
one frame), so its steps grow with the number of identities.

Experiments are gin files (benchmarks/gin-configs): a table cell is its own file (table2/er_nerf/
o_d_r.gin, ...) that includes the packaged configs it trains with, followed by the shared files
(shared/budget.gin, ...) and the profile's budget (profiles/<profile>.gin, macros); the few
values only a run knows (seed, bundle and checkpoint paths, a user folder's audio width and
portrait box) are bound as macros by harness.experiments.run_bindings. Every method trains in
one process pool (harness.workers.run_pool), as do the pre-training and the Audio2Motion VAE.

Data: "--data studio" (default) trains and scores studio identity 0 and pre-trains (tables 1,
3, 4) on studio identities 1..; "--data DIR [AUX ...]" trains and scores your preprocessed folder
DIR and pre-trains on the folders AUX (every count capped to how many you give), or, without
AUX, on studio identities when DIR's aud.npy has the studio's 32 channels. Without the studio's
ground truth the mouth/eye errors, lip sync and cross-driving are n/a; LMD needs a landmark
detector (the "landmarks" extra). Nothing is written inside your folders; result files get the
folder's name as a suffix (table3_obama.json).

Pre-trained bundles are cached under <work>/bundles_<profile>[_<folders>] and reused.

Each run writes <out>/<table>[_<profile>].json (settings, seed, commit, machine, wall times,
peak memory, every figure) and .md (the table beside the paper's numbers), plus PNG plots.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.baselines import BACKBONES, run_baselines  # noqa: E402
from harness.common import RESULTS  # noqa: E402
from harness.experiments import budget  # noqa: E402
from harness.gdrf_runner import run_gdrf_table, write_not_run  # noqa: E402
from harness.gdrf_tables import TABLES as GDRF_TABLES  # noqa: E402
from harness.runner_dhnerf import run_dhnerf  # noqa: E402
from harness.runner_table1 import run_table1  # noqa: E402
from harness.runners import run_table2, run_table34  # noqa: E402

# the data side of each profile (video size and length, auxiliary identities, pre-training
# epochs); its training budget (steps, rays, log cadence) is benchmarks/gin-configs/profiles/*.gin
DATA = {
    "micro": dict(size=32, seconds=1.0, aux_seconds=1.0, pretrain_epochs=1.0,
                  ids={10: 2, 5: 2, 3: 1}),
    "quick": dict(size=64, seconds=4.0, aux_seconds=3.0, pretrain_epochs=1.5,
                  ids={10: 4, 5: 2, 3: 1}),
    "default": dict(size=128, seconds=20.0, aux_seconds=8.0, pretrain_epochs=5.0,
                    ids={10: 10, 5: 5, 3: 3}),
    "full": dict(size=128, seconds=20.0, aux_seconds=20.0, pretrain_epochs=50.0,
                 ids={10: 10, 5: 5, 3: 3}),
}  # fmt: skip


def profile(name: str) -> dict:
    """A profile's settings as the reports give them: its budget from its gin file, its data."""
    b, d = budget(name), DATA[name]
    return dict(torso=b["torso"], size=d["size"], seconds=d["seconds"], head=b["head"],
                lips=b["lips"], rays=b["rays"], aux_seconds=d["aux_seconds"],
                pretrain_epochs=d["pretrain_epochs"], finetune=b["finetune"],
                ids=dict(d["ids"]))  # fmt: skip


PROFILES = {name: profile(name) for name in DATA}
TABLES = ("table1", "table2", "table3", "table4")
DHNERF_TABLES = ("dhnerf-table1", "dhnerf-table2")  # not in "all"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    choices = TABLES + DHNERF_TABLES + ("all",) + GDRF_TABLES + ("gdrf-table34", "gdrf-all")
    parser.add_argument("table", choices=(*choices, "baselines"), help="the table to reproduce")
    parser.add_argument("--profile", choices=[*PROFILES, "long"], default="default")
    parser.add_argument(
        "--data",
        nargs="+",
        default=["studio"],
        help="'studio' (default), or preprocessed folders: the first is trained and scored, "
        "the rest are pre-training identities (tables 1, 3, 4; the dhnerf tables train on "
        "the studio only)",
    )
    parser.add_argument("--out", default=str(RESULTS), help="where results are written")
    parser.add_argument(
        "--work",
        default=str(RESULTS / "cache"),
        help="studio folders and workspaces (reused across runs)",
    )
    parser.add_argument("--backbone", choices=["er_nerf", "rad_nerf"], default="er_nerf")
    parser.add_argument(
        "--backbones", nargs="+", choices=BACKBONES, default=list(BACKBONES),
        help="baselines: the backbones trained side by side",
    )  # fmt: skip
    parser.add_argument("--parallel", type=int, default=2, help="methods trained at once")
    parser.add_argument(
        "--studio-blinks",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="table2 on the studio: blinks LO-HI s apart instead of 2-6 s (its own folder, "
        "caches and result files, suffix _blinksLO-HI): whether the eye feature's map follows "
        "the eyes once they close often",
    )
    parser.add_argument(
        "--studio-torso-follow",
        type=float,
        metavar="K",
        default=None,
        help="table2 on the studio: the torso follows the head K of the way (0..1; its own "
        "folder, caches and result files, suffix _torsoK), so the torso field has (1 - K) of "
        "the motion to model: whether Σ‖Δx_torso‖'s share follows the size of the motion",
    )
    parser.add_argument(
        "--studio-light-frame",
        choices=["head"],
        default=None,
        help="table2 on the studio: the fixed key light attached to the head instead of the "
        "camera (its own folder, caches and result files, suffix _headlight), so the head's "
        "shading does not change with its pose: whether the torso field's pose-following "
        "offset on the head is there for the shading",
    )
    parser.add_argument(
        "--studio-unlit",
        action="store_true",
        help="dhnerf-table1/2: the studio without its moving key light (the folder tables 1-4 "
        "train on; its own lip-sync module, rows and result files, suffix _unlit; the light "
        "probes are n/a): whether a row's result comes from the light",
    )
    parser.add_argument(
        "--f-a",
        choices=["audio2motion", "backbone"],
        default="audio2motion",
        help="table2: RSDF's F_a in O+D+R, the Audio2Motion prior mean (the paper's, trained "
        "and cached here) or the backbone's audio feature (an ablation)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="seeds per cell (table1, table2, table4, gdrf-table*, dhnerf-table1/2: every row; "
        "table3: the 100%% and 50%% columns, not the paper-rates one): the markdown gives "
        "mean ± std, the JSON every seed",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="table1, table2, gdrf-table*, dhnerf-table1/2: reuse the rows a stopped run of the "
        "same table left in --work (same gin files, bindings, folder and package source); "
        "train only the rest",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train again rows an earlier run left in --work with other gin files, bindings, "
        "folder or package source, replacing them (without it such a run is refused)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        metavar="NAME",
        help="table1, table2, table3, table4, gdrf-table1/2/5/6, dhnerf-table1/2: train and "
        "report only these rows (e.g. O O+D O+D+R; '0 ids, 100%%' '10 ids, 100%%' (table3/4 "
        "need their column without ID-AKT at 100%%); 'GDRF, 5 s' 'ER-NeRF, 5 s'; 'full model'; "
        "an ablation row needs --ablations)",
    )
    parser.add_argument(
        "--ablations",
        action="store_true",
        help="table1, table2, dhnerf-table2, gdrf-table1: also train the ablation rows that "
        "isolate a missed claim's cause (ABLATIONS in harness/table1.py, table2.py, dhnerf.py, "
        "gdrf_tables.py; seed 0 only unless --ablation-seeds)",
    )
    parser.add_argument(
        "--ablation-seeds",
        nargs="+",
        metavar="K|ROW=K",
        help="table1, table2, dhnerf-table2, gdrf-table1 --ablations: seeds of every ablation "
        "row (K) or of one (ROW=K), e.g. --ablation-seeds 1 'O+D, backbone keeps its audio=3' "
        "(default: 1)",
    )
    parser.add_argument(
        "--extractor",
        metavar="JSON",
        default=None,
        help="dhnerf-table1/2: studio_code_extractor keywords over the tables' bank and "
        "recipe (configs/dhnerf.gin's), e.g. '{\"seed\": 1}', or the pairs alone: "
        '\'{"relative": [], "expression_steps": 0, "expression_weight": 0, "shift": 0}\' '
        "(pre-trained into --work once; the DH-NeRF rows read it with the same bindings); "
        "use a fresh --work",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the workers are stopped
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.table == "baselines":
        return run_baselines(args, dict(DATA.get(args.profile, DATA["full"])))
    if args.profile == "long":
        parser.error(
            "--profile long: only for 'baselines'; the tables take micro, quick, default or full"
        )
    if args.studio_blinks is not None and args.table != "table2":
        parser.error("--studio-blinks: only for table2 (the Fig. 5 maps of the eye feature)")
    if args.studio_torso_follow is not None and args.table != "table2":
        parser.error("--studio-torso-follow: only for table2 (the Fig. 5 maps of the torso field)")
    if args.studio_light_frame is not None and args.table != "table2":
        parser.error("--studio-light-frame: only for table2 (the Fig. 5 maps of the torso field)")
    if args.studio_unlit and args.table not in DHNERF_TABLES:
        parser.error("--studio-unlit: only for dhnerf-table1 and dhnerf-table2 (the other "
                     "tables' studio has no moving key light)")  # fmt: skip
    if args.table in DHNERF_TABLES and list(args.data) != ["studio"]:
        parser.error(f"--data: {args.table} trains on the studio (its ground truth scores the "
                     "codes); leave --data out")  # fmt: skip
    if args.extractor is not None:
        if args.table not in DHNERF_TABLES:
            parser.error("--extractor: only for dhnerf-table1 and dhnerf-table2")
        try:
            args.extractor = json.loads(args.extractor)
        except json.JSONDecodeError as e:
            parser.error(f"--extractor {args.extractor!r}: not JSON ({e.msg})")
        if not isinstance(args.extractor, dict):
            parser.error(f"--extractor {json.dumps(args.extractor)}: give a JSON object")
    prof, out = PROFILES[args.profile], Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.table == "gdrf-all" and args.methods:
        parser.error(
            "--methods names the rows of one table: give gdrf-table1, -table2, -table5 "
            "or -table6 instead of gdrf-all"
        )
    if args.table.startswith("gdrf"):
        todo = GDRF_TABLES + ("gdrf-table34",) if args.table == "gdrf-all" else (args.table,)
        for table in todo:
            args.table = table
            write_not_run(args, out) if table == "gdrf-table34" else run_gdrf_table(args, prof, out)
        return 0
    for table in TABLES if args.table == "all" else (args.table,):
        if table in DHNERF_TABLES:
            run_dhnerf(args, prof, out, table)
        elif table == "table1":
            run_table1(args, prof, out)
        elif table == "table2":
            run_table2(args, prof, out)
        else:
            run_table34(args, prof, out, table)
    return 0


def _tuned_allocator() -> None:
    """As a script: start again in the environment of ``allocator_env()`` (no heap trimming,
    large blocks from the heap, torch's huge pages) unless already in it, so this process and
    every worker it starts render without page faults on fresh blocks; timings and FPS
    columns only (``machine.allocator`` in each report says which)."""
    from lokitalk_plugins.train.allocator import allocator_env, allocator_state

    if allocator_state() != "tuned" and os.environ.get("LOKITALK_ALLOCATOR") != "default":
        sys.stdout.flush()
        script = str(Path(__file__).resolve())
        os.execve(sys.executable, [sys.executable, script, *sys.argv[1:]], allocator_env())


if __name__ == "__main__":
    _tuned_allocator()
    sys.exit(main())
