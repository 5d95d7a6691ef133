"""Rules ``parse_config_files`` applies beyond gin's own checks.

- ``one_backbone``: two config files that each choose a backbone (are, or include, a
  packaged ``rad_nerf.gin`` / ``er_nerf.gin``) are refused: gin would keep the last one's
  ``TalkingHeadSystem.model`` without a word, dropping e.g. the other's RSDF wrap.
- ``override_scoped``: a binding given after the files wins over them, scoped values too
  (gin alone lets ``head/Trainer.steps`` of a file win over a later ``Trainer.steps``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import gin
from gin import config_parser

from lokitalk_plugins.train.config import (
    BACKBONE_CONFIGS,
    CONFIG_DIR,
    ConfigError,
    packaged_config,
)
from lokitalk_plugins.train.config_guard import RecordingDelegate

__all__ = ["one_backbone", "override_scoped"]


def _backbones(path: Path, seen: set[Path]) -> set[str]:
    """Names of the packaged backbone configs that ``path`` is or includes (recursively)."""
    path = path.resolve()
    if path in seen:
        return set()
    seen.add(path)
    found = (
        {path.name}
        if path.parent == CONFIG_DIR.resolve() and path.name in BACKBONE_CONFIGS
        else set()
    )
    try:
        statements = list(
            config_parser.ConfigParser(path.read_text(encoding="utf-8"), RecordingDelegate())
        )
    except (OSError, UnicodeDecodeError, SyntaxError):
        return found  # gin reports the file's own error when it parses it
    for st in statements:
        if isinstance(st, config_parser.IncludeStatement):
            target = packaged_config(st.filename) or Path(st.filename)
            if target.is_file():
                found |= _backbones(target, seen)
    return found


def one_backbone(paths: Sequence[Path]) -> None:
    """Refuse two config files that each choose a backbone: gin keeps the last one's
    ``TalkingHeadSystem.model`` without a word (dropping, e.g., an RSDF wrap)."""
    choosing = [(p, b) for p in paths if (b := _backbones(p, set()))]
    if len(choosing) > 1:
        names = ", ".join(f"{p.name} ({' + '.join(sorted(b))})" for p, b in choosing)
        raise ConfigError(
            f"config files {names} each choose a backbone; gin would silently keep the last "
            "one's model (dropping any wrap of the others). Pass one backbone config (e.g. "
            "configs/er_nerf_odr.gin alone: it includes er_nerf.gin)"
        )


def override_scoped(binding: str) -> None:
    """Copy each parameter ``binding`` sets onto the narrower scopes that already bind it, so
    the binding wins over scoped values from the files; logs (INFO) what it replaced."""
    replaced = []
    for st in config_parser.ConfigParser(binding, RecordingDelegate()):
        if not isinstance(st, config_parser.BindingStatement) or not st.arg_name:
            continue
        selector = gin.config._REGISTRY.get_match(st.selector).selector
        value = gin.config._CONFIG[(st.scope, selector)][st.arg_name]
        prefix = f"{st.scope}/" if st.scope else ""
        for (scope, sel), params in list(gin.config._CONFIG.items()):
            if sel != selector or scope == st.scope or not scope.startswith(prefix):
                continue
            if st.arg_name in params and params[st.arg_name] is not value:
                replaced.append(f"{scope}/{st.selector}.{st.arg_name} = {params[st.arg_name]!r}")
                gin.bind_parameter((scope, selector, st.arg_name), value)
    if replaced:  # what the user asked for: logged, not warned (the CLI keeps stderr for errors)
        logging.getLogger(__name__).info("binding %r replaces the scoped %s", binding, replaced)
