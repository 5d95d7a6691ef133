"""Reading a workspace's gin configuration without running anybody's code.

gin can import modules (``import x``, ``from __gin__ import dynamic_registration``) and call
whatever a ``@name()`` reference names. A workspace (``run.json``) may come from someone else,
so before gin sees its configs and bindings, ``check_gin_text`` parses them with gin's own
parser (which evaluates nothing) and refuses, naming the file and line:

- any ``import`` statement;
- a binding or ``@reference`` of a configurable that this package did not register
  (registered under a ``lokitalk_plugins`` module), and any reference to ``train``;
- an ``include`` of a file that is neither a packaged config (``lokitalk_plugins/configs``)
  nor a copy saved in the workspace.

The one way past the first two is the person running the command: ``trust_modules(["m"])``
(the CLI's ``--import m``) imports a module they name, e.g. their own backbone, and then its
``import m`` lines and its configurables are accepted, in that process only.

``flatten_config`` writes a user's config file as one self-contained text (its includes of
non-packaged files inlined), which ``lokitalk train`` saves in ``WORKSPACE/run_configs/``;
with ``inline_packaged``, the checked text that ``eval`` and ``render`` hand to gin, with no
include left for gin to resolve.
"""

from __future__ import annotations

from pathlib import Path

import gin
from gin import config_parser

from lokitalk_plugins.train.config import ConfigError, packaged_config

__all__ = [
    "RecordingDelegate",
    "check_gin_text",
    "check_gin_file",
    "flatten_config",
    "trust_modules",
]

_PACKAGE = "lokitalk_plugins"
_NEVER_REFERENCED = frozenset({"train"})  # loading a workspace must never start training
_TRUSTED: set[str] = set()  # modules the user named with --import, in this process


def trust_modules(names) -> None:
    """Import each module of ``names`` (the CLI's ``--import``: code the user chose to run) and
    accept its ``import`` lines and configurables in checked configs from now on, in place of
    any earlier list (each command trusts exactly what it was given). Raises ConfigError
    naming the module when it cannot be imported."""
    import importlib

    _TRUSTED.clear()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:  # ImportError, or an error raised by the module itself
            raise ConfigError(
                f"--import {name}: cannot import it ({type(e).__name__}: {e}); put the module "
                "on PYTHONPATH or install it"
            ) from None
        _TRUSTED.add(name)


def _trusted(module: str) -> bool:
    """True when ``module`` is a module the user named with --import, or inside one."""
    return any(module == t or module.startswith(t + ".") for t in _TRUSTED)


class RecordingDelegate(config_parser.ParserDelegate):
    """Records every ``@reference`` and ``%macro`` instead of resolving them."""

    def __init__(self):
        self.references: list[str] = []

    def configurable_reference(self, scoped_configurable_name, evaluate):
        self.references.append(scoped_configurable_name)
        return ("@", scoped_configurable_name)

    def macro(self, macro_name):
        return ("%", macro_name)


def _is_package_configurable(name: str) -> bool:
    """True when ``name`` (scopes stripped) matches a configurable this package registered."""
    selector = name.split("/")[-1]
    try:
        found = gin.config._REGISTRY.get_match(selector)
    except Exception:  # an ambiguous or malformed selector: not one of ours
        return False
    if found is None:
        return False
    module = str(getattr(found, "module", None) or getattr(found.wrapped, "__module__", "") or "")
    return module.split(".")[0] == _PACKAGE or _trusted(module)


def _where(source: str, location) -> str:
    line = getattr(location, "line_num", None)
    text = (getattr(location, "line_content", "") or "").strip()
    return f"{source}, line {line if line is not None else '?'} ({text!r})"


REFUSED = "it was refused before gin read it, and nothing in it was run"


def check_gin_text(text: str, source: str, allowed_include, refusal: str = REFUSED) -> list[Path]:
    """Refuse imports, unregistered configurables and foreign includes in ``text``.

    allowed_include(name) -> Path | None: the file an include may load (None: refused);
    refusal: the end of the error message. Returns the included files (to be checked too).
    Raises ConfigError naming ``source`` and line.
    """
    recorder = RecordingDelegate()
    includes: list[Path] = []
    try:
        statements = list(config_parser.ConfigParser(text, recorder))
    except SyntaxError as e:
        raise ConfigError(f"{source}: not a valid gin config ({e.msg}, line {e.lineno})") from None
    for st in statements:
        where = _where(source, st.location)
        if isinstance(st, config_parser.ImportStatement):
            if _trusted(st.module):
                continue
            raise ConfigError(
                f"{where}: a workspace's config may not import modules (gin would run their "
                f"code); if you wrote or trust {st.module}, pass --import {st.module}; {refusal}"
            )
        if isinstance(st, config_parser.IncludeStatement):
            path = allowed_include(st.filename)
            if path is None:
                raise ConfigError(
                    f"{where}: includes {st.filename!r}, which is neither a packaged config "
                    f"nor a copy saved in the workspace; {refusal}"
                )
            includes.append(path)
            continue
        refs = list(recorder.references)
        recorder.references.clear()
        for name in refs:
            if name.split("/")[-1].split(".")[-1] in _NEVER_REFERENCED:
                raise ConfigError(f"{where}: refers to @{name}, which starts training; {refusal}")
        # a binding names its configurable (an empty arg_name is a macro definition)
        for name in ([st.selector] if st.arg_name else []) + refs:
            if not _is_package_configurable(name):
                raise ConfigError(
                    f"{where}: {name!r} is not a configurable that lokitalk_plugins registers "
                    f"(one of your own modules: pass --import MODULE); {refusal}"
                )
    return includes


def check_gin_file(path: Path, allowed_include, seen: set[Path] | None = None) -> None:
    """``check_gin_text`` on ``path`` and, recursively, on every file it includes."""
    seen = set() if seen is None else seen
    path = Path(path).resolve()
    if path in seen:
        return
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read this config file ({e})") from None
    for included in check_gin_text(text, str(path), allowed_include):
        check_gin_file(included, allowed_include, seen)


def flatten_config(
    path: str | Path, inline_packaged: bool = False, _stack: tuple[Path, ...] = ()
) -> str:
    """``path``'s text with each include of a non-packaged file replaced by that file's
    (flattened) text; includes of packaged configs stay, as ``lokitalk_plugins/configs/x``,
    or, with ``inline_packaged``, are inlined from the package too (gin then resolves no
    include itself: it would try the current folder first)."""
    path = Path(path).resolve()
    if path in _stack:
        raise ConfigError(f"{path}: includes itself (through {[str(p) for p in _stack]})")
    lines = path.read_text(encoding="utf-8").splitlines()
    statements = list(config_parser.ConfigParser("\n".join(lines), RecordingDelegate()))
    for st in reversed([s for s in statements if isinstance(s, config_parser.IncludeStatement)]):
        i = st.location.line_num - 1  # gin counts lines from 1
        packaged = packaged_config(st.filename)
        if packaged is not None and not inline_packaged:
            lines[i] = f"include '{_PACKAGE}/configs/{packaged.name}'"
            continue
        target = packaged or Path(st.filename)
        if not target.is_file() and not target.is_absolute():
            target = path.parent / st.filename
        if not target.is_file():
            raise ConfigError(f"{path}, line {i + 1}: included file {st.filename!r} not found")
        lines[i] = flatten_config(target, inline_packaged, (*_stack, path)).rstrip("\n")
    return "\n".join(lines) + "\n"
