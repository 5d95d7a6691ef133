"""The import rules of DESIGN.md, read from the source (every import statement, function-level
and TYPE_CHECKING ones included), the same rules as the import-linter contracts in
pyproject.toml: the core never imports adapters or baselines, baselines never import
adapters, signals import neither train nor data, and the former circles stay cut."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"lokitalk_plugins": ROOT / "lokitalk_plugins",
            "lokitalk_plugins.adapters": ROOT / "adapters",
            "lokitalk_plugins.baselines": ROOT / "baselines"}  # fmt: skip
CORE = ("encoding", "render", "signals", "rsdf", "idakt", "losses", "data", "train", "metrics",
        "pipeline")  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            if package == "lokitalk_plugins" and parts[0] in ("adapters", "baselines"):
                continue
            out[name] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of everything ``name`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


MODULES = _modules()


def _violations(sources: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if not name.startswith(sources):
            continue
        for imp in _imports(name, path):
            if any(imp == f or imp.startswith(f + ".") for f in forbidden):
                bad.append(f"{name} imports {imp}")
    return sorted(bad)


@pytest.mark.parametrize(
    "sources, forbidden",
    [
        (tuple(f"lokitalk_plugins.{p}" for p in CORE),
         ("lokitalk_plugins.adapters", "lokitalk_plugins.baselines")),
        (("lokitalk_plugins.baselines",), ("lokitalk_plugins.adapters",)),
        (("lokitalk_plugins.signals",), ("lokitalk_plugins.train", "lokitalk_plugins.data")),
        (("lokitalk_plugins.idakt.frozen",), ("lokitalk_plugins.idakt.module",)),
        (("lokitalk_plugins.train.stage_setup",), ("lokitalk_plugins.train.trainer",)),
    ],
)  # fmt: skip
def test_import_rule(sources, forbidden):
    assert len(MODULES) > 100 and "lokitalk_plugins.pipeline.system" in MODULES
    assert _violations(sources, forbidden) == []


def test_the_checker_sees_a_violation():
    assert "lokitalk_plugins.idakt.frozen imports lokitalk_plugins.idakt.parts" in _violations(
        ("lokitalk_plugins.idakt.frozen",), ("lokitalk_plugins.idakt.parts",)
    )
