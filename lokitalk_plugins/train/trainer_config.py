"""``TrainerConfig``: the settings of one training stage, checked when built.

gin binds it under the name ``Trainer`` (``Trainer.lr = {...}``, ``head/Trainer.steps = 100``),
so configuration files written for the trainer's former keyword arguments keep working; the
:class:`~lokitalk_plugins.train.trainer.Trainer` itself takes the system, the data, the
workspace, this config and the run's own flags (stage, validation set, resume, progress).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from lokitalk_plugins.errors import OptionError

__all__ = ["TrainerConfig"]


@dataclass(frozen=True)
class TrainerConfig:
    """steps: steps of the stage; seed: seeds torch, numpy, random and the trainer's
    generator at a fresh start; optimizer "adam" | "adamw" with betas, eps, weight_decay
    (None: PyTorch default); optimizer_implementation: "auto" (fused on a CPU) | "fused" |
    "foreach" | "loop" (the reference twin); lr: {group name: lr} overriding the system's
    group defaults; lr_decay: final multiplier of lr * decay ** (step / steps); ema_decay:
    None disables EMA; ema_warmup: decay min(d, (1+t)/(10+t)); log_every / val_every /
    ckpt_every: in steps (0 or None: never, except at the end); val_index: the validation
    frame rendered; keep_checkpoints: newest step files kept (None: all); amp: see
    ``Precision``; amp_from, amp_until: the steps run under the autocast ``amp`` chose, as
    shares of the stage's steps (from ``amp_from`` up to ``amp_until``), the others in float32
    (0.0 and 1.0: every step; amp_until 0.75 trains the last quarter in float32, amp_from 0.25
    the first quarter: precision schedules; amp_from None: the precision's own, 0.25 where
    "auto" chose bf16 on a CPU, else 0.0); tensorboard: True / False / "auto"."""

    steps: int
    seed: int = 0
    optimizer: str = "adam"
    lr: dict | None = None
    betas: tuple = (0.9, 0.99)
    eps: float = 1e-15
    weight_decay: float | None = None
    optimizer_implementation: str = "auto"
    lr_decay: float = 0.1
    ema_decay: float | None = 0.95
    ema_warmup: bool = True
    log_every: int = 100
    val_every: int | None = 1000
    val_index: int = 0
    ckpt_every: int | None = 1000
    keep_checkpoints: int | None = 3
    amp: str | bool = "auto"
    amp_from: float | None = None
    amp_until: float = 1.0
    tensorboard: bool | str = "auto"

    def __post_init__(self):
        steps = self.steps
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or int(steps) < 1:
            raise OptionError(f"Trainer.steps must be an integer >= 1, got {steps!r}")
        object.__setattr__(self, "steps", int(self.steps))
        for name in ("amp_from", "amp_until"):
            v = getattr(self, name)
            if name == "amp_from" and v is None:  # the precision's own (Precision.default_from)
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise OptionError(
                    f"Trainer.{name} must be a share of the stage's steps in [0, 1] (amp_from "
                    f"0 and amp_until 1: every step under autocast), got {v!r}"
                )
        if self.amp_from is not None and self.amp_from > self.amp_until:
            raise OptionError(
                f"Trainer.amp_from ({self.amp_from}) is after Trainer.amp_until "
                f"({self.amp_until}): the autocast runs from the one to the other"
            )
        object.__setattr__(self, "betas", tuple(self.betas))
        if self.lr is not None:
            object.__setattr__(self, "lr", dict(self.lr))

    @classmethod
    def from_options(cls, **options) -> TrainerConfig:
        """A config from keyword options; an unknown name is refused with the known ones."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(f"Trainer: unknown setting(s) {unknown}; the settings are {known}")
        return cls(**options)

    def optim_args(self) -> dict:
        """The optimiser's keyword arguments (build_optimizer)."""
        args = {k: v for k, v in asdict(self).items()
                if k in ("optimizer", "lr", "betas", "eps", "weight_decay")}  # fmt: skip
        return {**args, "implementation": self.optimizer_implementation}
