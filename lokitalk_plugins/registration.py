"""The one module that registers gin configurables; ``configs/*.gin`` bind them.

Import it before parsing a config (the CLI does): ``import lokitalk_plugins.registration``.
The core packages never import it (it imports the backbones); they look configurables up
by name through gin.

Registered names (short name; the module-qualified name also works):

- ``train``: ``lokitalk_plugins.train.run.run_training`` (stages, seed, splits, factories);
- ``Trainer``: ``lokitalk_plugins.train.trainer_config.TrainerConfig``, the settings of
  a stage's :class:`~lokitalk_plugins.train.trainer.Trainer` (steps, optimiser, lr by group,
  schedule, EMA, logging, checkpoints, precision);
- ``TalkingHeadFolder``: the dataset of a preprocessed folder;
- ``TalkingHeadSystem``: the training pipeline (:mod:`lokitalk_plugins.pipeline`), any
  ``TalkingHeadModel`` made trainable (``configs/base.gin`` binds ``train.system`` to it), and
  its grouped options ``GroupRates``, ``GridUpkeep``, ``LipsSampling``, ``LateLPIPS``,
  ``FramePlugins``, ``SampleCap`` (:mod:`lokitalk_plugins.pipeline.options`; ``base.gin``
  binds them to the system; its former flat names, ``TalkingHeadSystem.grid_fraction`` ...,
  still work);
- ``RADNeRF``, ``ERNeRF``, ``DHNeRF`` (with ``studio_code_extractor``), ``GDRF``: the rebuilt
  backbones, the Disentangling Head NeRF and GDRF's few-shot field (registered when
  ``lokitalk_plugins.baselines`` imports; a failure to import them is reported as a warning,
  and the core configurables stay usable);
- ``wrap``, ``RSDF``, ``JointDeformation``: a backbone with a deformation plug-in (the
  ablation settings O+D and O+D+R of LokiTalk's Table 2: ``configs/*_od.gin``, ``*_odr.gin``),
  ``load_audio2motion``: a trained Audio2Motion VAE as RSDF's F_a (``configs/audio2motion.gin``),
  ``load_audio2exp``: GDRF's audio-to-expression LSTM as RSDF's F_a (``configs/audio2exp.gin``);
- ``train_audio2exp``: pre-training / fine-tuning of that LSTM (``lokitalk audio2exp``,
  ``configs/audio2exp_pretrain.gin``, ``audio2exp_finetune.gin``);
- ``load_lipsync``: the audio branch of a trained lip-sync module (DH-NeRF §3.4) as RSDF's
  F_a, in the same slot (``configs/lipsync.gin``);
- ``velocity_loss``: DH-NeRF's velocity loss (eq. 7), its weight λ_v from ``configs/velocity.gin``
  (which also turns it on: ``FramePlugins.velocity = @velocity_loss``);
- ``NeuralRenderer``: DH-NeRF's 2D neural renderer (§3.2), on with
  ``configs/neural_renderer.gin`` (``FramePlugins.neural_renderer = @NeuralRenderer()``).

Former names that users' gin files may hold resolve to today's (``ALIASES``):
``lokitalk_plugins.baselines.TalkingHeadSystem`` (the pipeline lived in ``baselines/``) is
``lokitalk_plugins.pipeline.TalkingHeadSystem``, bindings and ``@`` references alike.
"""

from __future__ import annotations

import warnings

import gin

from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.losses.velocity import velocity_loss
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.options import (
    FLAT_NAMES,
    FramePlugins,
    GridUpkeep,
    GroupRates,
    LateLPIPS,
    LipsSampling,
    SampleCap,
)
from lokitalk_plugins.pipeline.system import OPTIONS
from lokitalk_plugins.render import NeuralRenderer
from lokitalk_plugins.train.audio2exp import train_audio2exp
from lokitalk_plugins.train.run import run_training
from lokitalk_plugins.train.trainer_config import TrainerConfig

__all__ = ["ALIASES", "CONFIGURABLES", "register_backbones"]

# short name -> the configured (gin-wrapped) callable; calling it applies the bindings
CONFIGURABLES: dict[str, object] = {}


def _register(obj, name: str, module: str, **kw) -> None:
    if name in CONFIGURABLES:
        return
    CONFIGURABLES[name] = gin.external_configurable(obj, name=name, module=module, **kw)


# former module-qualified name -> today's; the short names never changed
ALIASES = {
    "lokitalk_plugins.baselines.TalkingHeadSystem": "lokitalk_plugins.pipeline.TalkingHeadSystem",
    "baselines.TalkingHeadSystem": "lokitalk_plugins.pipeline.TalkingHeadSystem",
}


def _install_aliases() -> None:
    """Make gin's registry look a former name up as today's (once per process): a second
    registration under the old module would make the short name ambiguous."""
    registry = gin.config._REGISTRY
    if getattr(registry, "lokitalk_aliases", None) is ALIASES:
        return
    lookup = registry.matching_selectors

    def matching_selectors(partial_selector: str) -> list[str]:
        return lookup(ALIASES.get(partial_selector, partial_selector))

    registry.matching_selectors = matching_selectors
    registry.lokitalk_aliases = ALIASES


# the caller (lokitalk train) hands its workspace check and --overwrite to the run; a file
# must not
_register(
    run_training, "train", "lokitalk_plugins.train", denylist=["before_first_step", "overwrite"]
)
# the stage's settings (Trainer.steps, Trainer.lr, ...); the run supplies system, data, stage
_register(TrainerConfig, "Trainer", "lokitalk_plugins.train")
_register(
    TalkingHeadFolder, "TalkingHeadFolder", "lokitalk_plugins.data", denylist=["root", "split"]
)
# the training pipeline (core); gin name unchanged, so users' files keep working
_register(
    TalkingHeadSystem,
    "TalkingHeadSystem",
    "lokitalk_plugins.pipeline",
    allowlist=[*OPTIONS, *FLAT_NAMES],
)  # its former flat names too: a typo fails to parse
# its grouped options (TalkingHeadSystem.grid = @GridUpkeep(), GridUpkeep.fraction = 0.25)
for _options in (GroupRates, GridUpkeep, LipsSampling, LateLPIPS, FramePlugins, SampleCap):
    _register(_options, _options.__name__, "lokitalk_plugins.pipeline")
# the folders, output and init come from `lokitalk audio2exp`'s arguments
_register(train_audio2exp, "train_audio2exp", "lokitalk_plugins.signals",
          denylist=["folders", "out", "init", "progress"])  # fmt: skip
# the weight and form of eq. 7; the frames' colours come from the caller
_register(
    velocity_loss,
    "velocity_loss",
    "lokitalk_plugins.losses",
    allowlist=["weight", "squared"],
)
# the 2D upsampler of the head stage (FramePlugins.neural_renderer)
_register(NeuralRenderer, "NeuralRenderer", "lokitalk_plugins.render")


def register_backbones() -> bool:
    """Register the rebuilt backbones; False (with a warning) when
    ``lokitalk_plugins.baselines`` cannot be imported."""
    try:
        from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
        from lokitalk_plugins.baselines.gdrf import GDRF
        from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
    except ImportError as e:
        warnings.warn(
            f"the backbones are not registered with gin ({e}); configs naming RADNeRF or "
            "ERNeRF will fail to parse",
            stacklevel=2,
        )
        return False
    _register(RADNeRF, "RADNeRF", "lokitalk_plugins.baselines")
    _register(ERNeRF, "ERNeRF", "lokitalk_plugins.baselines")
    from lokitalk_plugins.baselines.dhnerf import DHNeRF, studio_code_extractor

    # the Disentangling Head NeRF and its code extractor (configs/dhnerf.gin)
    _register(DHNeRF, "DHNeRF", "lokitalk_plugins.baselines")
    _register(studio_code_extractor, "studio_code_extractor", "lokitalk_plugins.baselines")
    _register(GDRF, "GDRF", "lokitalk_plugins.baselines")
    return True


def register_plugins() -> bool:
    """Register the plug-ins and ``wrap`` (the Table 2 settings O+D and O+D+R bind them);
    False (with a warning) when ``lokitalk_plugins.adapters`` cannot be imported."""
    try:
        from lokitalk_plugins.adapters import wrap
        from lokitalk_plugins.rsdf import RSDF, JointDeformation
        from lokitalk_plugins.train.audio2exp import load_audio2exp
        from lokitalk_plugins.train.audio2motion import load_audio2motion
        from lokitalk_plugins.train.lipsync import load_lipsync
    except ImportError as e:
        warnings.warn(f"the plug-ins are not registered with gin ({e})", stacklevel=2)
        return False
    _register(wrap, "wrap", "lokitalk_plugins.adapters")
    _register(RSDF, "RSDF", "lokitalk_plugins.rsdf")
    _register(JointDeformation, "JointDeformation", "lokitalk_plugins.rsdf")
    # wrap.audio2motion = @load_audio2motion() with load_audio2motion.path = '...a2m.pt'
    _register(load_audio2motion, "load_audio2motion", "lokitalk_plugins.signals")
    # wrap.audio2motion = @load_audio2exp() with load_audio2exp.path = '...a2e.pt' (GDRF's LSTM)
    _register(load_audio2exp, "load_audio2exp", "lokitalk_plugins.signals",
              denylist=["map_location"])  # fmt: skip
    # wrap.audio2motion = @load_lipsync(): the lip-sync module's audio branch as F_a
    _register(load_lipsync, "load_lipsync", "lokitalk_plugins.signals")
    return True


register_backbones()
register_plugins()
_install_aliases()
