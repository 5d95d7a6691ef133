"""``lokitalk gdrf-pretrain``: GDRF's base model on several identities, saved as a bundle.

    lokitalk gdrf-pretrain id001 id002 id003 --config configs/gdrf.gin \\
        --bind "GDRF.audio_in_dim = 32" --steps 3000 --out gdrf_base

The options are those of ``lokitalk pretrain`` (one process or ``torchrun``). Fine-tune on a
new identity's 3-10 s clip with the ordinary training command:

    lokitalk train --config configs/gdrf.gin --config configs/gdrf_finetune.gin \\
        --bind "GDRF.pretrained = 'gdrf_base'" --data id000_5s --workspace runs/id000
"""

from __future__ import annotations

from lokitalk_plugins.commands import pretrain

__all__ = ["HELP", "configure", "run"]

HELP = "Pre-train GDRF's few-shot field on several identities (fine-tune: lokitalk train)."


def configure(parser) -> None:
    pretrain.configure(parser)
    parser.set_defaults(lr_decay=1.0)  # the paper's base model: Adam at 1e-4, constant


def run(args) -> int:
    from lokitalk_plugins.baselines.gdrf import GDRFPretraining, save_gdrf_bundle

    return pretrain.run_pretraining(args, GDRFPretraining, save_gdrf_bundle)
