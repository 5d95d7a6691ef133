"""Driving signals: audio windows and encoders, Audio2Motion, eye ratio, head pose."""
