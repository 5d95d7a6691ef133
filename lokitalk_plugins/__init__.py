"""lokitalk-plugins: plug-in modules for NeRF talking heads.

The core package knows no backbone: adapters (``lokitalk_plugins.adapters``) and the
clean-room backbones (``lokitalk_plugins.baselines``) build on it, never the other way round.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
