"""Shared by the DH-NeRF tests: small code sizes, a small model on a studio folder, and a
seeded short training run through the pipeline."""

from __future__ import annotations

import torch

from lokitalk_plugins.baselines.dhnerf import DHNeRF

__all__ = ["DIMS", "extractor_bindings", "make_model", "short_run"]

DIMS = dict(id_dim=4, ex_dim=4, al_dim=2, ill_dim=2)


def make_model(data, extractor=None, **kw) -> DHNeRF:
    """A seeded DHNeRF with a code per training frame of ``data`` and a 32³ grid."""
    torch.manual_seed(0)
    k = data.audio_features.shape[1]
    return DHNeRF(audio_in_dim=k, ind_num=len(data), grid_size=32, extractor=extractor,
                  **(DIMS | kw))  # fmt: skip


def short_run(system, data, steps: int = 40) -> list[float]:
    """``steps`` Adam steps of ``system`` on random frames of ``data`` (seeded) -> losses."""
    opt = torch.optim.Adam(system.parameter_groups(), betas=(0.9, 0.99), eps=1e-15)
    g, losses = torch.Generator().manual_seed(3), []
    for step in range(steps):
        frame = data[int(torch.randint(0, len(data), (1,), generator=g))]
        out = system.training_step(frame, step, steps, g)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        system.after_step(step, g)
        losses.append(float(out.loss.detach()))
    return losses


def extractor_bindings(path) -> list[str]:
    """gin bindings of a tiny studio code extractor kept in ``path`` (built in seconds)."""
    return [f"studio_code_extractor.path = '{path}'", "studio_code_extractor.identities = 3",
            "studio_code_extractor.expressions = 4", "studio_code_extractor.lights = 4",
            "studio_code_extractor.render_size = 16", "studio_code_extractor.steps = 5",
            "studio_code_extractor.num_negatives = 3", "studio_code_extractor.grid = False",
            "studio_code_extractor.poses = 0",
            "studio_code_extractor.expression_steps = 5"]  # fmt: skip
