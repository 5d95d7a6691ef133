"""Clean-room rebuilds of the backbones the plug-ins wrap (RAD-NeRF, ER-NeRF)."""
