"""Scalar logs: a CSV file per stage (always), TensorBoard too when it is installed.

``workspace/logs/<stage>.csv`` has the columns ``step, wall_time`` and then every scalar name
in the order first logged (``loss, psnr, lr/<group>, ..., val_psnr``); a row leaves the
columns it does not log empty. When a later row brings a new name the file is rewritten with
the wider header. On resume the rows after the resumed step (logged by the interrupted run
after its last checkpoint) are dropped, so the log reads as one uninterrupted run.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

__all__ = ["CSVLog", "ScalarLogger"]

BASE_COLUMNS = ("step", "wall_time")


class CSVLog:
    """path: the CSV file; resume_step: keep existing rows up to this step (None: start anew)."""

    def __init__(self, path: str | Path, resume_step: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns: list[str] = list(BASE_COLUMNS)
        self.rows: list[dict[str, str]] = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                for name in reader.fieldnames or []:
                    if name not in self.columns:
                        self.columns.append(name)
                self.rows = [r for r in reader if r.get("step") and int(r["step"]) <= resume_step]
        self._rewrite()

    def _rewrite(self) -> None:
        with open(self.path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)

    def log(self, step: int, wall_time: float, scalars: dict[str, float]) -> None:
        row = {"step": str(int(step)), "wall_time": f"{wall_time:.3f}"}
        row.update({k: repr(float(v)) for k, v in scalars.items()})
        self.rows.append(row)
        new = [k for k in scalars if k not in self.columns]
        if new:
            self.columns.extend(new)
            self._rewrite()
            return
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=self.columns, restval="").writerow(row)


class ScalarLogger:
    """CSV at ``folder/<stage>.csv`` plus TensorBoard under ``folder/tb/<stage>`` when
    ``tensorboard`` is True, or "auto" and the package is importable."""

    def __init__(
        self,
        folder: str | Path,
        stage: str,
        resume_step: int | None = None,
        tensorboard: bool | str = "auto",
    ):
        self.csv = CSVLog(Path(folder) / f"{stage}.csv", resume_step)
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                if tensorboard is True:
                    raise ImportError(
                        "tensorboard=True needs the tensorboard package; use 'auto' or False"
                    ) from None
            else:
                self.tb = SummaryWriter(str(Path(folder) / "tb" / stage), purge_step=resume_step)

    def log(self, step: int, wall_time: float, scalars: dict[str, float]) -> None:
        finite = {k: float(v) for k, v in scalars.items() if v is not None}
        self.csv.log(step, wall_time, finite)
        if self.tb is not None:
            for k, v in finite.items():
                if math.isfinite(v):
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
