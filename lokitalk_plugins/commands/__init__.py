"""``lokitalk train``, ``eval``, ``render`` (and ``pretrain``, ``audio2exp``): the commands that
read gin configs through the registration module.

They sit outside the core packages (they import ``lokitalk_plugins.registration``, which
registers the backbones); every other command lives beside the code it runs.
"""

__all__: list[str] = []
