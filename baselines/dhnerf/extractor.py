"""The Disentangling Head NeRF's latent code extractor (§3.3), pre-trained with contrastive
pairs on the studio, where the pairs are exact (``data.studio.factors``).

``CodeExtractor``: an image [B, H, W, 3] in [0, 1] -> codes C̄_id, C̄_ex, C̄_al, C̄_ill
(a shared convolutional trunk on the image resized to ``size``, one MLP head per code; the
paper takes HeadNeRF's extractor, whose layout it does not give: this one is ours).

Pairs (factor indices of a ``FactorBank``; k identity, e expression, l light):

| code | positive of an anchor (k, e, l) | negatives |
|---|---|---|
| ex | (k' ≠ k, e, any l) | (k, e' ≠ e, any l) |
| id | (k, e' ≠ e, any l) | (k' ≠ k, e, any l) |
| al | (k, any e, l' ≠ l) | (k' ≠ k, any e, l) |
| ill | (k' ≠ k, any e, l) | (k, any e, l' ≠ l) |

In the studio a skin's albedo belongs to its identity, so C_al's pairs are identity pairs
under a change of light. Each anchor takes one random positive and N random negatives (N =
10 as the lip-sync module); InfoNCE with cosine similarity and temperature τ (0.5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.losses import CODE_NAMES

__all__ = ["CodeExtractor", "pair_masks", "pair_info_nce", "pretrain_extractor"]


class CodeExtractor(nn.Module):
    """images [B, H, W, 3] in [0, 1] -> {name: [B, d]} for CODE_NAMES.

    id_dim, ex_dim, al_dim, ill_dim: code sizes; size: the side the image is resized to (a
    multiple of 8); width: channels of the first convolution (doubled twice)."""

    def __init__(self, id_dim=16, ex_dim=16, al_dim=8, ill_dim=8, size=32, width=16):
        super().__init__()
        if size % 8:
            raise ValueError(f"size must be a multiple of 8, got {size}")
        self.dims = dict(zip(CODE_NAMES, (int(id_dim), int(ex_dim), int(al_dim), int(ill_dim))))
        self.size = int(size)
        w = int(width)
        self.trunk = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )  # fmt: skip
        flat = 4 * w * (self.size // 8) ** 2
        self.heads = nn.ModuleDict(
            {k: nn.Sequential(nn.Linear(flat, 64), nn.LeakyReLU(0.2), nn.Linear(64, d))
             for k, d in self.dims.items()}
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"CodeExtractor expects images [B, H, W, 3], got {list(images.shape)}")
        x = images.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        h = self.trunk(x * 2 - 1)
        return {k: head(h) for k, head in self.heads.items()}


def pair_masks(identity, expression, light) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Factor indices [B] each -> {code: (positives [B, B] bool, negatives [B, B] bool)} as in
    the module's table (never the anchor itself)."""
    k, e, li = (torch.as_tensor(t) for t in (identity, expression, light))
    sk, se, sl = (t[:, None] == t[None, :] for t in (k, e, li))
    return {
        "ex": (~sk & se, sk & ~se),
        "id": (sk & ~se, ~sk & se),
        "al": (sk & ~sl, ~sk & sl),
        "ill": (~sk & sl, sk & ~sl),
    }


def pair_info_nce(codes, positives, negatives, num_negatives=10, tau=0.5, generator=None):
    """InfoNCE of codes [B, d]: each anchor against one random positive and ``num_negatives``
    random negatives (masks [B, B]) -> scalar. Raises ValueError when an anchor has no
    positive or fewer than ``num_negatives`` negatives."""
    n_pos, n_neg = positives.sum(1), negatives.sum(1)
    if int(n_pos.min()) < 1 or int(n_neg.min()) < num_negatives:
        raise ValueError(
            f"too few pairs: an anchor has {int(n_pos.min())} positives and "
            f"{int(n_neg.min())} negatives, N = {num_negatives} negatives need more "
            "identities, expressions or lights in the bank (or a smaller N)"
        )
    z = F.normalize(codes, dim=-1)
    sim = z @ z.T / tau  # [B, B]
    pos = torch.multinomial(positives.float(), 1, generator=generator)  # [B, 1]
    neg = torch.multinomial(negatives.float(), num_negatives, generator=generator)  # [B, N]
    logits = torch.cat([sim.gather(1, pos), sim.gather(1, neg)], 1)
    return F.cross_entropy(logits, torch.zeros(len(codes), dtype=torch.long))


def pretrain_extractor(
    extractor: CodeExtractor,
    bank,
    steps: int = 300,
    lr: float = 1e-3,
    num_negatives: int = 10,
    tau: float = 0.5,
    seed: int = 0,
) -> list[float]:
    """Train ``extractor`` on a ``FactorBank`` (every image is an anchor each step, Adam)
    with the sum of the four codes' InfoNCE; returns the loss of every step."""
    g = torch.Generator().manual_seed(int(seed))
    masks = pair_masks(bank.identity, bank.expression, bank.light)
    opt = torch.optim.Adam(extractor.parameters(), lr=lr)
    history: list[float] = []
    extractor.train()
    for _ in range(int(steps)):
        codes = extractor(bank.images)
        loss = sum(pair_info_nce(codes[k], *masks[k], num_negatives, tau, g) for k in CODE_NAMES)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    extractor.eval()
    return history
