"""gin configuration files: ``base.gin``, one per backbone, and small includes.

An importable package so gin can include them from anywhere as
``include 'lokitalk_plugins/configs/base.gin'``.
"""

__all__: list[str] = []
