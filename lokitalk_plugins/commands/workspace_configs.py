"""The config files of a workspace: the self-contained copies ``lokitalk train`` saves in
``WORKSPACE/run_configs/`` (every config file that is not a packaged one), the text of every
config as it was trained (``run.json``'s ``config_texts``: packaged includes inlined, so a
later version of the package that changes or removes a packaged config still loads the
workspace as it was trained), and the checks that let ``eval`` and ``render`` load a
workspace from someone else without running any of its code (see ``train/config_guard.py``)."""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = [
    "RUN_FILE",
    "CONFIG_COPIES",
    "add_import_option",
    "add_render_bind_option",
    "trust_imports",
    "saved_configs",
    "check_loadable",
    "checked_run_configs",
    "config_snapshot",
    "SNAPSHOT",
]

CONFIG_COPIES = "run_configs"  # WORKSPACE/run_configs/: copies of non-packaged gin files
RUN_FILE = "run.json"  # beside them: data folder, config names, bindings, featurizer
SNAPSHOT = "config_texts"  # run.json: each config's text as trained, packaged includes inlined


def add_import_option(parser) -> None:
    """``--import MODULE`` (repeatable): the user's own module (e.g. a backbone) to import
    before the configs are read; its ``import`` lines and configurables are then accepted."""
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import your own module (e.g. a backbone registered with gin) "
                             "so configs may use it; nothing else is imported")  # fmt: skip


def add_render_bind_option(parser) -> None:
    """``--bind BINDING`` (repeatable): a gin binding read after the workspace's own, for how
    the trained system renders (``load_system(workspace, bindings)``)."""
    parser.add_argument("--bind", action="append", default=[], metavar="BINDING",
                        help="a gin binding after the run's own, for rendering only, e.g. "
                             "\"FramePlugins.neural_precision = 'bfloat16'\" (one that "
                             "changes the weights' shapes fails the load)")  # fmt: skip


def trust_imports(args) -> None:
    """Import the modules of ``--import`` (ConfigError naming one that cannot be imported)."""
    from lokitalk_plugins.train.config_guard import trust_modules

    trust_modules(args.imports)


def saved_configs(workspace: Path, configs) -> tuple[list[str], dict[str, str]]:
    """run.json's names of ``configs`` (``configs/x.gin``: packaged, ``run_configs/x.gin``: a
    copy in the workspace) and {name: flattened text} of the copies to write."""
    from lokitalk_plugins.train.config import CONFIG_DIR, resolve_config
    from lokitalk_plugins.train.config_guard import flatten_config

    names, copies = [], {}
    for c in configs:
        path = resolve_config(c).resolve()
        if path.parent == CONFIG_DIR.resolve():
            names.append(f"configs/{path.name}")
            continue
        name = f"{CONFIG_COPIES}/{path.name}"
        if name in copies or (workspace / name).resolve() == path:
            name = f"{CONFIG_COPIES}/{len(copies)}_{path.name}"
        copies[name] = flatten_config(path)
        names.append(name)
    return names, copies


def check_loadable(run: dict, copies: dict[str, str]) -> None:
    """Refuse, before training, a run that ``eval`` and ``render`` would refuse to load (a
    config copy or binding importing a module or naming a foreign configurable)."""
    from lokitalk_plugins.train.config import packaged_config
    from lokitalk_plugins.train.config_guard import check_gin_text

    why = "lokitalk eval and render would refuse this workspace, so training was not started"
    for name, text in copies.items():
        check_gin_text(text, f"--config {Path(name).name}", packaged_config, why)
    for binding in run["bindings"]:
        check_gin_text(binding, f"--bind {binding!r}", packaged_config, why)


def config_snapshot(configs) -> list[str]:
    """The text of each of ``configs`` as gin will read it, every include (packaged ones too)
    inlined: what run.json records as ``config_texts``."""
    from lokitalk_plugins.train.config import resolve_config
    from lokitalk_plugins.train.config_guard import flatten_config

    return [flatten_config(resolve_config(c), inline_packaged=True) for c in configs]


def _packaged_name(name: str) -> bool:
    """True when ``name`` has the form run.json gives a packaged config, ``configs/x.gin``
    (the file may be gone from a later version of the package)."""
    parts = Path(str(name)).parts
    return len(parts) == 2 and parts[0] == "configs" and parts[1].endswith(".gin")


def checked_run_configs(workspace: Path, run: dict) -> list[tuple[str, str]]:
    """(source, text) of each config of ``run``, checked, and every binding, before gin sees
    them: nothing outside the package can be imported or called. The texts are those run.json
    recorded at training (``config_texts``); a workspace without them (trained before they
    were recorded) reads each config from the package or its copy in WORKSPACE/run_configs/,
    its includes inlined from the package (gin would look in the current folder first).
    Warns once, naming them, when configs differ today from the recorded texts. Raises
    ConfigError naming run.json or the file and line."""
    from lokitalk_plugins.train.config import ConfigError, packaged_config
    from lokitalk_plugins.train.config_guard import check_gin_file, check_gin_text, flatten_config

    workspace, where = Path(workspace).resolve(), Path(workspace) / RUN_FILE
    recorded = run.get(SNAPSHOT)
    if recorded is not None and not (
        isinstance(recorded, list)
        and len(recorded) == len(run["configs"])
        and all(isinstance(t, str) for t in recorded)
    ):
        raise ConfigError(
            f"{where}: {SNAPSHOT!r} must hold one text per entry of 'configs' "
            f"({len(run['configs'])}); re-create the workspace with lokitalk train"
        )
    texts, changed = [], []
    for i, name in enumerate(run["configs"]):
        copy = (workspace / name).resolve()
        inside = copy.is_relative_to(workspace / CONFIG_COPIES)
        path = copy if inside and copy.is_file() else packaged_config(name)
        named = inside or _packaged_name(name)  # a copy's or a packaged config's name
        if recorded is None or not named:
            if path is None:  # a name that is no packaged config and no copy: refused
                raise ConfigError(
                    f"{where} names the config {name!r}, which is neither a packaged config "
                    f"nor a copy in {workspace / CONFIG_COPIES}; it was not read. Re-train the "
                    "workspace with this version of lokitalk (it saves copies of its config "
                    "files)"
                )
        if recorded is None:
            check_gin_file(path, packaged_config)
            texts.append((str(path), flatten_config(path, inline_packaged=True)))
            continue
        source = f"{where} [{SNAPSHOT}] {name}"
        check_gin_text(recorded[i], source, lambda _name: None)  # inlined: no includes left
        texts.append((source, recorded[i]))
        try:
            today = flatten_config(path, inline_packaged=True) if path is not None else None
        except ConfigError:
            today = None
        if today != recorded[i]:
            changed.append(name)
    if changed:
        warnings.warn(
            f"{workspace}: {', '.join(changed)} changed or no longer exist since it was "
            f"trained; it is loaded with the texts {RUN_FILE} recorded ({SNAPSHOT})",
            stacklevel=2,
        )
    for binding in run["bindings"]:
        check_gin_text(binding, f"{where}: binding {binding!r}", packaged_config)
    return texts
