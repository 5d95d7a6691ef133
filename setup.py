"""Package discovery: the repo folders adapters/ and baselines/ install *inside* lokitalk_plugins.

Everything else lives in pyproject.toml. A top-level "adapters" package is never installed
(that name belongs to another PyPI project).
"""

from setuptools import find_packages, setup


def _mapped(folder: str) -> list[str]:
    inner = find_packages(include=[folder, folder + ".*"])
    return ["lokitalk_plugins." + name for name in inner]


setup(
    packages=find_packages(include=["lokitalk_plugins", "lokitalk_plugins.*"])
    + _mapped("adapters")
    + _mapped("baselines"),
)
