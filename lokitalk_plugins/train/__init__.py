"""Trainer, schedules, checkpoints, distributed training."""
