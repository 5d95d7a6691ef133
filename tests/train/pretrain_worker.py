"""The worker the real-system 2-process pre-training test launches under torch.distributed.run:

    python -m torch.distributed.run --nproc_per_node 2 --master_port P \\
        tests/train/pretrain_worker.py --out DIR --data ID0 ID1 [--steps N]

Each rank builds the ID-AKT pre-training system (ER-NeRF + RSDF + ID-AKT, tiny sizes) from
gin exactly as ``lokitalk pretrain`` does, pre-trains with gloo on CPU, and saves its final
parameters, losses and shard to DIR/rank{rank}.pt; rank 0 also writes the bundle DIR/bundle.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

CONFIGS = ["configs/er_nerf_odr.gin", "configs/studio_quick.gin", "configs/idakt.gin"]
BINDINGS = [
    "ERNeRF.grid_size = 32",
    "TalkingHeadSystem.num_rays = 256",
    "RSDF.hidden = 16",
    "RSDF.grid = {'num_levels': 4, 'log2_hashmap_size': 10, 'desired_resolution': 32, "
    "'backend': 'torch'}",
    "wrap.idakt = {'dynamic_dim': 16, 'feature_dim': 32, 'offset_dim': 8, 'encoder': {'width': 8}}",
]


def main(argv=None) -> None:
    from lokitalk_plugins.adapters import save_identity_bundle
    from lokitalk_plugins.commands.pretrain import build_pretraining
    from lokitalk_plugins.train.distributed import cleanup_distributed, init_distributed
    from lokitalk_plugins.train.pretrain_loop import pretrain

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--steps", type=int, default=24)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ctx = init_distributed()
    torch.manual_seed(100 + ctx.rank)  # different initial weights on each rank
    multi = build_pretraining(CONFIGS, BINDINGS, args.data)
    out = Path(args.out)
    result = pretrain(multi, range(len(args.data)), args.steps, context=ctx, seed=0,
                      out_dir=out / f"run{ctx.rank}", progress=False)  # fmt: skip
    state = {k: v.detach().clone() for k, v in multi.state_dict().items()}
    torch.save({"final": state, "losses": result["losses"], "shard": result["shard"]},
               out / f"rank{ctx.rank}.pt")  # fmt: skip
    if ctx.is_main:
        save_identity_bundle(multi.model, out / "bundle")
    cleanup_distributed()


if __name__ == "__main__":
    main()
