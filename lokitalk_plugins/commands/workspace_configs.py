"""The config files of a workspace: the self-contained copies ``lokitalk train`` saves in
``WORKSPACE/run_configs/`` (every config file that is not a packaged one), and the checks
that let ``eval`` and ``render`` load a workspace from someone else without running any of
its code (see ``train/config_guard.py``)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RUN_FILE",
    "CONFIG_COPIES",
    "add_import_option",
    "trust_imports",
    "saved_configs",
    "check_loadable",
    "checked_run_configs",
]

CONFIG_COPIES = "run_configs"  # WORKSPACE/run_configs/: copies of non-packaged gin files
RUN_FILE = "run.json"  # beside them: data folder, config names, bindings, featurizer


def add_import_option(parser) -> None:
    """``--import MODULE`` (repeatable): the user's own module (e.g. a backbone) to import
    before the configs are read; its ``import`` lines and configurables are then accepted."""
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="MODULE",
                        help="import your own module (e.g. a backbone registered with gin) "
                             "so configs may use it; nothing else is imported")  # fmt: skip


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


def checked_run_configs(workspace: Path, run: dict) -> list[tuple[str, str]]:
    """(file, text) of each config of ``run`` (packaged, or a copy in WORKSPACE/run_configs/),
    checked with its includes, and every binding, before gin sees them: nothing outside the
    package can be imported or called. The texts have their includes inlined from the package
    (gin would look in the current folder first). Raises ConfigError naming run.json or the
    file and line."""
    from lokitalk_plugins.train.config import ConfigError, packaged_config
    from lokitalk_plugins.train.config_guard import check_gin_file, check_gin_text, flatten_config

    workspace, where = Path(workspace).resolve(), Path(workspace) / RUN_FILE
    texts = []
    for name in run["configs"]:
        copy = (workspace / name).resolve()
        inside = copy.is_relative_to(workspace / CONFIG_COPIES) and copy.is_file()
        path = copy if inside else packaged_config(name)
        if path is None:
            raise ConfigError(
                f"{where} names the config {name!r}, which is neither a packaged config nor a "
                f"copy in {workspace / CONFIG_COPIES}; it was not read. Re-train the workspace "
                "with this version of lokitalk (it saves copies of its config files)"
            )
        check_gin_file(path, packaged_config)
        texts.append((str(path), flatten_config(path, inline_packaged=True)))
    for binding in run["bindings"]:
        check_gin_text(binding, f"{where}: binding {binding!r}", packaged_config)
    return texts
