"""Backbone contract, registry and wrap(); one adapter per backbone."""
