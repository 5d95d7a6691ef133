"""Rays, occupancy grid, sampling and compositing."""
