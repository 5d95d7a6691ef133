"""ER-NeRF, rebuilt clean-room and name-compatible with the original."""
