"""Experiments as data: a method of a table is a list of gin files under ``benchmarks/gin-configs``
plus the few bindings only the run knows.

- ``benchmarks/gin-configs/<table>/<row>.gin``: one file per table cell (it includes the packaged
  configs it trains with and adds the cell's own lines);
- ``benchmarks/gin-configs/shared/*.gin``: what several tables share (the stages' budget, the
  data's audio width, RSDF's F_a from the Audio2Motion VAE);
- ``benchmarks/gin-configs/profiles/<profile>.gin``: the profile's budget as macros (steps, rays,
  log cadence), read back by :func:`budget` for the reports.

What truly is known only at run time (the seed, a bundle or checkpoint the harness just
trained, a user folder's audio width and portrait box) enters through :func:`run_bindings`
alone, as gin macros the files name (``wrap.pretrained = %BUNDLE``).
"""

from __future__ import annotations

from .common import BENCH

__all__ = ["CONFIGS", "MACROS", "budget", "config", "gin_method", "profile_config", "resolve",
           "run_bindings"]  # fmt: skip

# not "configs": with benchmarks/ on sys.path (run.py, the tests) a folder of that name would be
# a namespace package that gin's package-path reader then finds for "include 'configs/x.gin'"
CONFIGS = BENCH / "gin-configs"
_REPO = BENCH.parent

# run_bindings' keyword -> (macro, type of its value)
MACROS = {
    "seed": ("SEED", int),
    "audio_in_dim": ("AUDIO_IN_DIM", int),
    "bundle": ("BUNDLE", str),
    "audio2motion": ("AUDIO2MOTION", str),
    "audio2exp": ("AUDIO2EXP", str),
    "code_extractor": ("CODE_EXTRACTOR", str),
    "lipsync": ("LIPSYNC", str),
    "extractor_relative": ("EXTRACTOR_RELATIVE", tuple),
}
# the profile macros a report's settings show, by the settings' key
_BUDGET = {"head": "HEAD_STEPS", "lips": "LIPS_STEPS", "torso": "TORSO_STEPS",
           "finetune": "FINETUNE_STEPS", "rays": "RAYS"}  # fmt: skip


def config(name: str) -> str:
    """``benchmarks/gin-configs/<name>`` (``.gin`` added), as the reports show it; raises
    FileNotFoundError for a file that is not there."""
    rel = CONFIGS.relative_to(_REPO) / (name if name.endswith(".gin") else name + ".gin")
    if not (_REPO / rel).is_file():
        raise FileNotFoundError(f"{_REPO / rel}: no such benchmark config")
    return rel.as_posix()


def profile_config(profile: str) -> str:
    """The gin file of a profile's budget (``profiles/<profile>.gin``)."""
    return config("profiles/" + profile)


def resolve(name: str) -> str:
    """A method's config as the worker opens it: ``benchmarks/...`` under this checkout (the
    harness may run from any folder); packaged ``configs/x.gin`` names unchanged."""
    return str(_REPO / name) if name.startswith("benchmarks/") else name


def gin_method(name: str, *configs: str, **extra) -> dict:
    """A method of :func:`harness.workers.run_methods`: row label ``name``, the gin files
    ``configs`` (names under ``benchmarks/gin-configs``) and no bindings yet; ``extra`` keys (data,
    key, val_background, ...) as they are."""
    return dict(name=name, configs=[config(c) for c in configs], bindings=[], **extra)


def _literal(value, kind) -> str:
    if kind is int:
        if isinstance(value, bool) or int(value) != value:
            raise TypeError(f"expected an integer, got {value!r}")
        return str(int(value))
    if kind is tuple:  # names: a tuple of strings
        return repr(tuple(str(v) for v in value))
    return repr(str(value))


def run_bindings(
    *, portrait_box: tuple | None = None, steps: int | None = None, **values
) -> list[str]:
    """The bindings of the values only the run knows, as gin macros the benchmark configs
    name: seed (SEED), audio_in_dim (AUDIO_IN_DIM), the paths of what the harness trained
    (bundle: BUNDLE, audio2motion: AUDIO2MOTION, audio2exp: AUDIO2EXP, code_extractor:
    CODE_EXTRACTOR, lipsync: LIPSYNC), the codes the extractor reads relative to the person
    (extractor_relative: EXTRACTOR_RELATIVE, a tuple of names), portrait_box, six floats
    (PORTRAIT_AABB, and PORTRAIT_BOUND derived from it), and steps, a GDRF row's head steps
    from its table's plan (STEPS, and STEPS_LOG_EVERY = max(1, steps // 40)). None values are
    left out; an unknown keyword raises TypeError."""
    unknown = sorted(set(values) - set(MACROS))
    if unknown:
        raise TypeError(f"run_bindings: unknown value(s) {unknown}; known: {list(MACROS)}")
    lines = []
    for key, value in values.items():
        if value is not None:
            macro, kind = MACROS[key]
            lines.append(" = ".join((macro, _literal(value, kind))))
    if steps is not None:
        lines += [" = ".join(("STEPS", _literal(steps, int))),
                  " = ".join(("STEPS_LOG_EVERY", str(max(1, int(steps) // 40))))]  # fmt: skip
    if portrait_box is not None:
        from lokitalk_plugins.data.portrait import portrait_bound

        box = tuple(float(v) for v in portrait_box)
        if len(box) != 6:
            raise TypeError(f"portrait_box: six numbers (min xyz, max xyz), got {box}")
        lines += [" = ".join(("PORTRAIT_AABB", repr(box))),
                  " = ".join(("PORTRAIT_BOUND", repr(float(portrait_bound(box)))))]  # fmt: skip
    return lines


def budget(profile: str) -> dict:
    """The profile's budget from its gin file: {"head", "lips", "torso", "finetune", "rays"}
    (the keys the profile defines), read with gin's parser without touching gin's state."""
    from gin import config_parser

    from lokitalk_plugins.train.config_guard import RecordingDelegate

    text = (_REPO / profile_config(profile)).read_text(encoding="utf-8")
    macros = {st.selector: st.value
              for st in config_parser.ConfigParser(text, RecordingDelegate())
              if isinstance(st, config_parser.BindingStatement) and not st.arg_name}  # fmt: skip
    return {key: macros[m] for key, m in _BUDGET.items() if m in macros}
