"""Grid encoders (hash, tiled, tri-plane), frequency and spherical-harmonics encodings."""
