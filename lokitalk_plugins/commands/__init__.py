"""``lokitalk train``, ``eval`` and ``render``: the commands that build backbones from gin.

They sit outside the core packages (they import ``lokitalk_plugins.registration``, which
registers the backbones); every other command lives beside the code it runs.
"""

__all__: list[str] = []
