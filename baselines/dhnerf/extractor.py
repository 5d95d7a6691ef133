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

Drawn uniformly, most of C_ex's negatives differ from the anchor in the jaw, the largest change
in the image, and few only in the lip width: InfoNCE is then low with a code that reads the
jaw alone. With ``hardness`` = β > 0 each negative is drawn with probability proportional to
exp(β cos(anchor, negative)) among the anchor's negatives (the codes' similarity at that step,
no gradient through the draw): the negatives the code cannot yet tell from the anchor come up
more often (hard-negative sampling); β = 0 is the uniform draw, the same draws as before.

InfoNCE only asks a positive to be nearer than the negatives, so a code may keep some of
the factors it should ignore (C̄_id moving with the light of one person's clip). With
``invariance`` = λ > 0 the loss adds λ times each code's alignment (``pair_alignment``): the
mean squared distance of an anchor's unit code to the unit codes of all its positives, which
is 0 only when the code ignores every factor its positives differ in.

The paper first pre-trains the extractor (HeadNeRF's structure, whose expression code comes
from a 3DMM fit of the face) and then trains it further with the pairs. The studio knows
each image's expression parameters (jaw, lip width, eye closure, ``FactorBank.expressions``),
so ``expression_steps`` full-batch steps first regress C̄_ex's first three numbers on them
(``expression_fit``, mean squared error) before the contrastive steps, and
``expression_weight`` keeps that fit in the loss during them (0: the pairs alone). Likewise
each image's light (direction and intensity, ``FactorBank.light_dir``, ``light_intensity``):
in the first ``light_steps`` steps C̄_ill's first four numbers are regressed on them
(``light_fit``; in the same steps as the expression fit where both are on, the two losses
added), and ``light_weight`` keeps that fit during the pairs. The light is the scene's, not
the person's: no code is centred for it.

The bank has 16 people; read on a person it never saw, an extractor keyed to where each bank
person's eyes and mouth sit in the picture reads them poorly, and which pixels it keys to
depends on its seed. With ``shift`` = s > 0 every pre-training step moves each bank image by a
random whole number of pixels, up to s times its side each way (the edge pixels repeated; the
offsets drawn from the pre-training's generator), so a code must read the eyes and mouth
wherever they sit within that range (augmentation by translation).

A code named in ``relative`` is read relative to the person: its mean over the person's
images is subtracted (``centre_codes``; in pre-training over each identity's images in the
bank, at use over the clip's training frames, ``field.init_codes``). The studio's people
differ in mouth width about as much as the lip width moves it, so an absolute C_ex asked to
match one expression across people gains little from the mouth's width; relative to the
person's mean, the person's own width cancels. The bank gives every identity the same
expressions, so the centring removes the person and nothing of the expression there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.losses import CODE_NAMES

__all__ = ["CodeExtractor", "centre_codes", "check_crop", "code_names", "expression_fit",
           "light_fit", "pair_alignment", "pair_info_nce", "pair_masks", "pretrain_extractor",
           "shifted"]  # fmt: skip


class CodeExtractor(nn.Module):
    """images [B, H, W, 3] in [0, 1] -> {name: [B, d]} for CODE_NAMES.

    id_dim, ex_dim, al_dim, ill_dim: code sizes; size: the side the image is resized to (a
    multiple of 8); width: channels of the first convolution (doubled twice); crop: None
    (the whole image) or a window (top, left, bottom, right), fractions of the image's
    height and width, that the codes in ``crop_codes`` read instead of the whole image,
    through a trunk of their own (``window_trunk``): a window over the eyes and mouth gives
    them more of the ``size`` x ``size`` pixels than the whole portrait does (at 32 px an
    eye of a 128 px studio frame is one pixel), while the light and the identity may be
    read better from the whole head. Without crop the module is the one it always was
    (same parameters). relative: the codes read relative to the person (see the module doc;
    ``forward`` returns every code as read from each image alone, the user centres them
    with ``centre_codes``); () reads every code as is."""

    def __init__(self, id_dim=16, ex_dim=16, al_dim=8, ill_dim=8, size=32, width=16,
                 crop=None, crop_codes=CODE_NAMES, relative=()):  # fmt: skip
        super().__init__()
        if size % 8:
            raise ValueError(f"size must be a multiple of 8, got {size}")
        self.dims = dict(zip(CODE_NAMES, (int(id_dim), int(ex_dim), int(al_dim), int(ill_dim))))
        self.size = int(size)
        self.crop = check_crop(crop)
        codes = code_names(crop_codes, "crop_codes")
        if not codes:
            raise ValueError(f"crop_codes must name some of {list(CODE_NAMES)}, got {crop_codes!r}")
        self.crop_codes = codes if self.crop else ()
        self.relative = code_names(relative, "relative")
        w = int(width)

        def trunk():
            return nn.Sequential(
                nn.Conv2d(3, w, 3, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.2),
                nn.Flatten(),
            )  # fmt: skip

        if len(self.crop_codes) < len(CODE_NAMES):
            self.trunk = trunk()
        if self.crop_codes:
            self.window_trunk = trunk()
        flat = 4 * w * (self.size // 8) ** 2
        self.heads = nn.ModuleDict(
            {k: nn.Sequential(nn.Linear(flat, 64), nn.LeakyReLU(0.2), nn.Linear(64, d))
             for k, d in self.dims.items()}
        )  # fmt: skip

    def _features(self, images: torch.Tensor, trunk: nn.Module) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return trunk(x * 2 - 1)

    def window(self, images: torch.Tensor) -> torch.Tensor:
        """The ``crop`` window of images [B, H, W, 3] (at least one pixel each way)."""
        H, W = images.shape[1:3]
        top, left, bottom, right = self.crop
        r0, c0 = min(int(top * H), H - 1), min(int(left * W), W - 1)
        r1, c1 = max(int(round(bottom * H)), r0 + 1), max(int(round(right * W)), c0 + 1)
        return images[:, r0:r1, c0:c1]

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"CodeExtractor expects images [B, H, W, 3], got {list(images.shape)}")
        whole = window = None
        if len(self.crop_codes) < len(CODE_NAMES):
            whole = self._features(images, self.trunk)
        if self.crop_codes:
            window = self._features(self.window(images), self.window_trunk)
        return {k: head(window if k in self.crop_codes else whole)
                for k, head in self.heads.items()}  # fmt: skip


def code_names(names, option: str) -> tuple[str, ...]:
    """Code names (one name, a sequence of them, or None: none) as a tuple in ``CODE_NAMES``
    order; a name not among them raises ValueError naming ``option``."""
    given = (names,) if isinstance(names, str) else tuple(names or ())
    if any(k not in CODE_NAMES for k in given):
        raise ValueError(f"{option} must name some of {list(CODE_NAMES)}, got {names!r}")
    return tuple(k for k in CODE_NAMES if k in given)


def check_crop(crop) -> tuple[float, float, float, float] | None:
    """None, or ``crop`` as (top, left, bottom, right) floats with 0 <= top < bottom <= 1 and
    0 <= left < right <= 1; anything else raises ValueError naming the option."""
    if crop is None:
        return None
    try:
        box = tuple(float(v) for v in crop)
    except (TypeError, ValueError):
        box = ()
    if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
        raise ValueError(
            f"crop must be (top, left, bottom, right) fractions of the image with top < bottom "
            f"and left < right in [0, 1], got {crop!r}"
        )
    return box


def centre_codes(codes: dict, names, groups=None) -> dict:
    """``codes`` {name: [B, d]} with each code in ``names`` less its mean over the images of
    its group (``groups`` [B] ints, e.g. the identity; None: all B images are one group, a
    clip of one person); the other codes as given."""
    out = dict(codes)
    for k in names:
        c = codes[k]
        if groups is None:
            out[k] = c - c.mean(0, keepdim=True)
            continue
        g = torch.as_tensor(groups, dtype=torch.long, device=c.device)
        onehot = F.one_hot(g).to(c.dtype)  # [B, G]
        mean = (onehot.T @ c) / onehot.sum(0).clamp_min(1)[:, None]
        out[k] = c - mean[g]
    return out


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


def pair_info_nce(
    codes, positives, negatives, num_negatives=10, tau=0.5, generator=None, hardness=0.0
):
    """InfoNCE of codes [B, d]: each anchor against one random positive and ``num_negatives``
    random negatives (masks [B, B]; drawn uniformly, or with ``hardness`` β > 0 in proportion
    to exp(β cos) with the anchor) -> scalar. Raises ValueError when an anchor has no
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
    weights = negatives.float()
    if hardness:
        cos = (z @ z.T).detach()
        weights = weights * torch.exp(float(hardness) * (cos - 1.0))  # <= 1: no overflow
    neg = torch.multinomial(weights, num_negatives, generator=generator)  # [B, N]
    logits = torch.cat([sim.gather(1, pos), sim.gather(1, neg)], 1)
    return F.cross_entropy(logits, torch.zeros(len(codes), dtype=torch.long))


def pair_alignment(codes, positives):
    """Mean over the anchors of the mean squared distance between the anchor's unit code and
    the unit codes of all its positives (mask [B, B]): 2 - 2 cos averaged, in [0, 4]; anchors
    without a positive are left out (0 when none has one)."""
    z = F.normalize(codes, dim=-1)
    pos = positives.float()
    n = pos.sum(1)
    has = n > 0
    if not bool(has.any()):
        return codes.sum() * 0.0
    mean_cos = ((z @ z.T) * pos).sum(1)[has] / n[has]
    return (2 - 2 * mean_cos).mean()


def expression_fit(codes: dict, bank, relative=()) -> torch.Tensor:
    """Mean squared error of C̄_ex's first three numbers (``codes`` as the extractor reads
    the bank's images, centred where ``relative`` names C_ex) to each image's expression
    parameters (jaw, lip width, eye closure), centred on each identity's images the same
    way."""
    truth = bank.expressions[bank.expression].to(codes["ex"].dtype)
    if "ex" in relative:
        truth = centre_codes({"ex": truth}, ("ex",), bank.identity)["ex"]
    return (codes["ex"][:, :3] - truth).pow(2).mean()


def light_fit(codes: dict, bank) -> torch.Tensor:
    """Mean squared error of C̄_ill's first four numbers (``codes`` as the extractor reads the
    bank's images) to each image's light: its direction (3 numbers) and intensity."""
    truth = torch.cat([bank.light_dir, bank.light_intensity[:, None]], 1)[bank.light]
    return (codes["ill"][:, :4] - truth.to(codes["ill"].dtype)).pow(2).mean()


def shifted(images: torch.Tensor, most: int, generator: torch.Generator,
            out: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """images [B, H, W, C], each moved by its own random whole-pixel offset in [-most, most]
    down and across (drawn from ``generator``), the edge pixels repeated where it uncovers
    the frame; most 0: the images themselves (nothing drawn). out: a tensor like ``images``
    to write into (pre-training reuses one: a bank is hundreds of megabytes, and a fresh one
    each step costs more in page faults than the copy); the images move in groups of one
    offset, so no temporary is larger than a group."""
    if most <= 0:
        return images
    B, H, W = images.shape[:3]
    dy, dx = torch.randint(-most, most + 1, (2, B), generator=generator)
    out = torch.empty_like(images) if out is None else out
    span = 2 * most + 1
    key = (dy + most) * span + (dx + most)
    for k in key.unique().tolist():
        sel = (key == k).nonzero()[:, 0]
        oy, ox = k // span - most, k % span - most
        rows = (torch.arange(H) - oy).clamp(0, H - 1)  # row r of the result shows row r - oy
        cols = (torch.arange(W) - ox).clamp(0, W - 1)
        group = images.index_select(0, sel).index_select(1, rows).index_select(2, cols)
        out.index_copy_(0, sel, group)
    return out


def _pair_loss(codes, masks, num_negatives, tau, generator, hardness, invariance):
    """The contrastive step's loss: the four codes' InfoNCE, plus ``invariance`` times their
    ``pair_alignment`` when above 0."""
    loss = sum(pair_info_nce(codes[k], *masks[k], num_negatives, tau, generator, hardness)
               for k in CODE_NAMES)  # fmt: skip
    if invariance > 0:
        loss = loss + invariance * sum(pair_alignment(codes[k], masks[k][0])
                                       for k in CODE_NAMES)  # fmt: skip
    return loss


def pretrain_extractor(
    extractor: CodeExtractor,
    bank,
    steps: int = 300,
    lr: float = 1e-3,
    num_negatives: int = 10,
    tau: float = 0.5,
    seed: int = 0,
    invariance: float = 0.0,
    hardness: float = 0.0,
    expression_steps: int = 0,
    expression_weight: float = 0.0,
    shift: float = 0.0,
    light_steps: int = 0,
    light_weight: float = 0.0,
    progress: bool | str = False,
) -> list[float]:
    """Train ``extractor`` on a ``FactorBank`` (every image is an anchor each step, Adam, one
    optimiser throughout): first max(``expression_steps``, ``light_steps``) steps of the
    supervised fits alone (``expression_fit`` in the first ``expression_steps`` of them,
    ``light_fit`` in the first ``light_steps``, added where both run), then ``steps`` steps of
    the sum of the four codes' InfoNCE (negatives drawn with ``hardness``, see
    ``pair_info_nce``), plus ``invariance`` times the sum of their ``pair_alignment``,
    ``expression_weight`` times ``expression_fit`` and ``light_weight`` times ``light_fit``
    when above 0; the
    codes in ``extractor.relative`` are centred on each identity's images first
    (``centre_codes``). shift: each step every bank image is moved by up to that fraction
    of its side each way (``shifted``, the offsets drawn from ``seed``'s generator; 0: the
    images as rendered, the same draws as without the option). progress: a bar with the loss
    and an ETA on stderr (a string: its label). Returns the loss of every step."""
    for name, value in (("invariance", invariance), ("hardness", hardness),
                        ("expression_weight", expression_weight),
                        ("expression_steps", expression_steps),
                        ("light_steps", light_steps), ("light_weight", light_weight)):  # fmt: skip
        if not float(value) >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    if not float(tau) > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if not 0 <= float(shift) < 0.5:
        raise ValueError(f"shift must be in [0, 0.5), a fraction of the image side, got {shift!r}")
    if (int(expression_steps) or float(expression_weight)) and extractor.dims["ex"] < 3:
        raise ValueError("expression_steps and expression_weight need ex_dim >= 3 (jaw, lip "
                         f"width, eye closure), got ex_dim = {extractor.dims['ex']}")  # fmt: skip
    if (int(light_steps) or float(light_weight)) and extractor.dims["ill"] < 4:
        raise ValueError("light_steps and light_weight need ill_dim >= 4 (the light's direction "
                         f"and intensity), got ill_dim = {extractor.dims['ill']}")  # fmt: skip
    g = torch.Generator().manual_seed(int(seed))
    masks = pair_masks(bank.identity, bank.expression, bank.light)
    opt = torch.optim.Adam(extractor.parameters(), lr=lr)
    history: list[float] = []
    extractor.train()
    fits = max(int(expression_steps), int(light_steps))
    total = fits + int(steps)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        label = progress if isinstance(progress, str) else "code extractor"
        bar = tqdm(total=total, desc=label, unit="step", mininterval=5.0)
    most = round(float(shift) * min(bank.images.shape[1:3]))
    buffer = torch.empty_like(bank.images) if most > 0 else None
    for step in range(total):
        images = shifted(bank.images, most, g, buffer)
        codes = centre_codes(extractor(images), extractor.relative, bank.identity)
        if step < fits:  # the supervised fits alone
            loss = 0.0
            if step < int(expression_steps):
                loss = expression_fit(codes, bank, extractor.relative)
            if step < int(light_steps):
                loss = loss + light_fit(codes, bank)
        else:
            loss = _pair_loss(codes, masks, num_negatives, tau, g, hardness, invariance)
            if expression_weight > 0:
                loss = loss + expression_weight * expression_fit(codes, bank, extractor.relative)
            if light_weight > 0:
                loss = loss + light_weight * light_fit(codes, bank)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.3f}", refresh=False)
    if bar is not None:
        bar.close()
    extractor.eval()
    return history
