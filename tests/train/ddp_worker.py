"""A toy multi-identity system, and the worker script the 2-process pre-training test launches:

    python -m torch.distributed.run --nproc_per_node 2 --master_port P \\
        tests/train/ddp_worker.py --out DIR [--steps N]

Each rank builds the system from a different seed (DDP must make the weights equal), runs
``pretrain`` with gloo on CPU, writing into DIR/run{rank} (only rank 0 may write there), and
saves {"initial", "final", "losses", "identities", "shard", "checkpoint"} to DIR/rank{rank}.pt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

__all__ = ["ToyIdentities", "main"]


class ToyIdentities(nn.Module):
    """n identities of ``frames`` frames each; a frame is a fixed random code [C] and a target
    [P] in [0, 1]. prediction = head[identity](trunk([code(frame), code(ref), embedding(id)]));
    the target of (frame, ref) is targets[frame] + 0.25 * targets[ref]. The per-identity heads
    are unused on the steps of other identities. ``occupancy`` [n, cells] is refreshed in
    ``after_step`` at random cells (a max with a decay, like an occupancy grid)."""

    def __init__(
        self,
        n_identities: int = 4,
        frames: int = 6,
        code: int = 6,
        pixels: int = 8,
        hidden: int = 16,
        cells: int = 8,
        data_seed: int = 0,
    ):
        super().__init__()
        g = torch.Generator().manual_seed(data_seed)
        self.register_buffer("codes", torch.randn(n_identities, frames, code, generator=g))
        self.register_buffer("targets", torch.rand(n_identities, frames, pixels, generator=g))
        self.embedding = nn.Embedding(n_identities, 4)
        self.trunk = nn.Sequential(nn.Linear(2 * code + 4, hidden), nn.Tanh())
        self.heads = nn.ModuleList(nn.Linear(hidden, pixels) for _ in range(n_identities))
        self.register_buffer("occupancy", torch.zeros(n_identities, cells))
        self.register_buffer("refreshes", torch.zeros((), dtype=torch.int64))

    def parameter_groups(self) -> list[dict]:
        return [
            {"name": "codes", "params": list(self.embedding.parameters()), "lr": 4e-2},
            {
                "name": "mlp",
                "params": [*self.trunk.parameters(), *self.heads.parameters()],
                "lr": 2e-2,
            },
        ]

    def forward(self, identity: int, step: int, total_steps: int, generator: torch.Generator):
        frames = self.codes.shape[1]
        f, r = torch.randint(frames, (2,), generator=generator, device=self.codes.device).tolist()
        ident = torch.tensor([identity], device=self.codes.device)
        x = torch.cat([self.codes[identity, f], self.codes[identity, r], self.embedding(ident)[0]])
        pred = self.heads[identity](self.trunk(x))
        target = self.targets[identity, f] + 0.25 * self.targets[identity, r]
        loss = ((pred - target) ** 2).mean()
        return loss, {"mse": float(loss.detach()), "identity": float(identity)}

    @torch.no_grad()
    def full_loss(self, identities: list[int]) -> float:
        """The exact expected loss over every (frame, reference) pair of ``identities``."""
        total = 0.0
        frames = self.codes.shape[1]
        for i in identities:
            emb = self.embedding.weight[i].expand(frames, frames, -1)
            codes = self.codes[i]
            pair = (frames, frames, codes.shape[1])
            x = torch.cat([codes[:, None].expand(pair), codes[None].expand(pair), emb], -1)
            pred = self.heads[i](self.trunk(x))
            target = self.targets[i][:, None] + 0.25 * self.targets[i][None]
            total += float(((pred - target) ** 2).mean())
        return total / len(identities)

    @torch.no_grad()
    def after_step(self, step: int, generator: torch.Generator) -> None:
        if step % 2:
            return
        cells = self.occupancy.shape[1]
        cell = int(torch.randint(cells, (1,), generator=generator, device=self.codes.device))
        density = self.embedding.weight.abs().mean(1) * (1 + cell)
        self.occupancy[:, cell] = torch.maximum(self.occupancy[:, cell] * 0.9, density)
        self.refreshes += 1


def main(argv: list[str] | None = None) -> int:
    from lokitalk_plugins.train.distributed import cleanup_distributed, init_distributed
    from lokitalk_plugins.train.pretrain_loop import pretrain

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ctx = init_distributed(backend="gloo")
    try:
        torch.manual_seed(1000 + ctx.rank)  # different initial weights on every rank
        system = ToyIdentities()
        initial = {k: v.clone() for k, v in system.state_dict().items()}
        full_before = system.full_loss([0, 1, 2, 3])
        out = pretrain(
            system,
            [0, 1, 2, 3],
            args.steps,
            context=ctx,
            seed=0,
            out_dir=args.out / f"run{ctx.rank}",
            checkpoint_every=args.steps // 2,
            log_every=5,
            progress=False,
            max_buffers=("occupancy",),
            buffer_sync_every=4,
        )
        final = {k: v.detach().clone() for k, v in system.state_dict().items()}
        torch.save(
            {
                "initial": initial,
                "final": final,
                "losses": out["losses"],
                "rank": out["rank"],
                "identities": out["identities"],
                "shard": out["shard"],
                "world_size": out["world_size"],
                "checkpoint": out["checkpoint"],
                "full_before": full_before,
                "full_after": system.full_loss([0, 1, 2, 3]),
            },
            args.out / f"rank{ctx.rank}.pt",
        )
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
