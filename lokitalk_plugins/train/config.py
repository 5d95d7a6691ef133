"""Reading gin configuration: files by path or by packaged name, clear errors.

``parse_config_files(["configs/rad_nerf.gin", "my.gin"], ["Trainer.steps = 100"])`` reads each
file (a path on disk, else a file shipped in the package: ``configs/rad_nerf.gin``,
``rad_nerf.gin`` and ``rad_nerf`` all name ``lokitalk_plugins/configs/rad_nerf.gin``), then
the bindings. ``include 'configs/base.gin'`` inside a file resolves the same way.

A binding given here wins over the files: ``Trainer.steps = 100`` also replaces the scoped
``head/Trainer.steps = 2000`` of ``configs/studio_quick.gin`` (gin alone would let the scoped
one win in the head stage); what it replaced is logged (INFO). Bindings apply in order,
so a later ``head/Trainer.steps = 50`` still sets the head stage alone.

Configurables must be registered first (``import lokitalk_plugins.registration``). gin checks
every binding at parse time; an unknown configurable or parameter raises ``ConfigError``
naming the file and line, with the closest known names.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import re
from collections.abc import Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import gin

from lokitalk_plugins.errors import UserError

__all__ = [
    "ConfigError",
    "CONFIG_DIR",
    "BACKBONE_CONFIGS",
    "packaged_configs",
    "packaged_config",
    "resolve_config",
    "parse_config_files",
]

CONFIG_DIR = Path(str(resources.files("lokitalk_plugins"))) / "configs"
_SEARCH_PATH_ADDED = False
# the packaged configs that choose a backbone (TalkingHeadSystem.model); the others include one
BACKBONE_CONFIGS = ("rad_nerf.gin", "er_nerf.gin", "dhnerf.gin")


class ConfigError(UserError, ValueError):
    """A gin file or binding that cannot be used; the message names where and why."""


def packaged_configs() -> list[str]:
    """Names of the gin files shipped with the package (``configs/<name>.gin``)."""
    return sorted(p.name for p in CONFIG_DIR.glob("*.gin"))


def packaged_config(name: str | Path) -> Path | None:
    """The packaged file that a name spells (``configs/x.gin``, ``lokitalk_plugins/configs/
    x.gin``, ``x.gin`` or ``x``), else None; never looks at the current folder."""
    parts = Path(str(name)).parts
    if not parts or len(parts) > 3 or ".." in parts:
        return None
    if len(parts) > 1 and tuple(parts[:-1]) not in (("configs",), ("lokitalk_plugins", "configs")):
        return None
    stem = parts[-1] if parts[-1].endswith(".gin") else f"{parts[-1]}.gin"
    path = CONFIG_DIR / stem
    return path if path.is_file() else None


def resolve_config(name: str | Path) -> Path:
    """A config file's path: ``name`` itself if it exists, else the packaged file it names."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.name if path.suffix == ".gin" else f"{path.name}.gin"
    packaged = CONFIG_DIR / stem
    if path.parent in (Path("."), Path("configs")) and packaged.is_file():
        return packaged
    raise ConfigError(
        f"config file {str(name)!r} not found (as a path, or among the packaged configs "
        f"{packaged_configs()})"
    )


def _registered_names() -> list[str]:
    """Every registered configurable, by short and by module-qualified name."""
    try:
        selectors = [key for key, _ in gin.config._REGISTRY.items()]
    except Exception:  # gin internals changed: no suggestions, the error still stands
        return []
    return sorted({s.split(".")[-1] for s in selectors} | set(selectors))


def _parameters(configurable: str) -> list[str]:
    """Parameter names of a registered configurable: its allowlist when it has one, else its
    own signature (not gin's wrapper)."""
    try:
        entry = gin.config._REGISTRY.get_match(configurable)
        if entry.allowlist:
            return list(entry.allowlist)
        return [p for p in inspect.signature(entry.wrapped).parameters if p != "self"]
    except Exception:  # an unregistered name, gin internals changed, or no signature
        return []


class _QuietSearch(logging.Filter):
    """Drops gin's "Path not found" log lines while it tries its include search paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Path not found")


@contextmanager
def _quiet_gin_search():
    root, quiet = logging.getLogger(), _QuietSearch()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def _hint(message: str) -> str:
    """' (did you mean ...?)' for gin's unknown-configurable / unknown-parameter errors."""
    m = re.search(
        r"Configurable '([^']+)' (?:doesn't have a parameter named|doesn't include kwarg) "
        r"'([^']+)'",
        message,
    )
    if m:
        known = _parameters(m.group(1))
        close = difflib.get_close_matches(m.group(2), known, n=3)
        known_txt = f"; its parameters: {known}" if known else ""
        return (f" (did you mean {close}?)" if close else "") + known_txt
    m = re.search(r"No configurable matching '([^']+)'", message)
    if m:
        close = difflib.get_close_matches(m.group(1).split("/")[-1], _registered_names(), n=3)
        base = " (is lokitalk_plugins.registration imported?)"
        return f" (did you mean {close}?)" if close else base
    return ""


def _wrap(error: Exception, source: str) -> ConfigError:
    text = str(error).strip() or repr(error)
    where = re.search(r'In file "([^"]+)", line (\d+)', text)
    lead = f"{where.group(1)}, line {where.group(2)}" if where else source
    first = text.splitlines()[0]
    return ConfigError(f"gin config error in {lead}: {first}{_hint(text)}\n{text}")


def parse_config_files(
    config_files: Sequence[str | Path] = (),
    bindings: Sequence[str] = (),
    clear: bool = True,
    texts: Sequence[tuple[str, str]] = (),
) -> list[Path]:
    """Parse files, then ``texts`` ((source name, gin text) pairs), then bindings into gin's
    global config; returns the files' paths.

    clear: start from an empty config (gin's state is global). Raises ConfigError.
    """
    if clear:
        gin.clear_config()
    global _SEARCH_PATH_ADDED
    if not _SEARCH_PATH_ADDED:
        gin.add_config_file_search_path(str(CONFIG_DIR.parent))
        _SEARCH_PATH_ADDED = True
    from lokitalk_plugins.train.config_rules import one_backbone, override_scoped

    paths = [resolve_config(f) for f in config_files]
    one_backbone(paths)
    for path in paths:
        try:
            with _quiet_gin_search():
                gin.parse_config_file(str(path))
        except (ValueError, SyntaxError, TypeError, OSError) as e:
            raise _wrap(e, str(path)) from None
    for source, text in texts:
        try:
            gin.parse_config(text)
        except (ValueError, SyntaxError, TypeError, OSError) as e:
            raise _wrap(e, source) from None
    for binding in bindings:
        try:
            gin.parse_config(binding)
        except (ValueError, SyntaxError, TypeError) as e:
            raise _wrap(e, f"binding {binding!r}") from None
        override_scoped(binding)
    return paths
