"""Several seeds per table cell: the methods repeated with ``SEED = k`` (base.gin's macro, which
seeds the trainer, the ray sampling and the initialisation), and their rows folded back into one
row per method with the mean and the sample standard deviation of every metric, every seed's
row kept beside them."""

from __future__ import annotations

import math

from .experiments import run_bindings

__all__ = ["fold_seeds", "mean_std", "resumed_lines", "seeded_methods", "seeds_note"]


def seeded_methods(methods: list[dict], seeds: int, select=None, count=None) -> list[dict]:
    """Each method of ``methods`` once per seed 0 .. seeds - 1 (only seed 0 for the methods
    ``select(method)`` rejects; ``count(method)``, when given, the number of seeds of each
    method instead): the same dict plus ``seed``, a ``SEED = k`` binding, ``cell`` (the
    method's own ``key``, else its name: what :func:`fold_seeds` groups by) and a ``key``
    naming its workspace (the row label ``name`` is unchanged)."""
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    out = []
    for m in methods:
        n = count(m) if count is not None else seeds if select is None or select(m) else 1
        for k in range(n):
            cell = m.get("key", m["name"])
            key = cell if k == 0 else f"{cell} seed {k}"
            bindings = [*m["bindings"], *run_bindings(seed=k)]
            out.append(dict(m, seed=k, key=key, cell=cell, bindings=bindings))
    return out


def mean_std(values: list) -> tuple[float | None, float | None]:
    """(mean, sample std) of the numbers in ``values`` (None entries skipped); std is None for
    fewer than two numbers, both None for none."""
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return None, None
    mean = sum(nums) / len(nums)
    if len(nums) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in nums) / (len(nums) - 1))


def fold_seeds(rows: list[dict], methods: list[dict]) -> list[dict]:
    """Rows of :func:`seeded_methods`' methods (same order, each with ``metrics``) -> one row per
    cell (``cell``, else the name) in first-seen order: seed 0's row with ``metrics`` replaced
    by the means over seeds, ``metrics_std`` (sample std, None with one seed) and ``seeds`` (each
    seed's number, metrics, workspace and train seconds)."""
    groups: dict[str, list[tuple[dict, dict]]] = {}
    for m, r in zip(methods, rows):
        groups.setdefault(m.get("cell", m["name"]), []).append((m, r))
    folded = []
    for pairs in groups.values():
        first = dict(pairs[0][1])
        names = [k for k, v in first["metrics"].items() if not isinstance(v, dict)]
        stats = {k: mean_std([r["metrics"].get(k) for _m, r in pairs]) for k in names}
        first["metrics"] = dict(first["metrics"], **{k: s[0] for k, s in stats.items()})
        first["metrics_std"] = {k: s[1] for k, s in stats.items()}
        first["seeds"] = [
            {
                "seed": m.get("seed", 0),
                "metrics": r["metrics"],
                "workspace": r["workspace"],
                "train_seconds": r["train_seconds"],
            }
            for m, r in pairs
        ]
        folded.append(first)
    return folded


def seeds_note(report: dict, rows: str, rest: str = "") -> list[str]:
    """Markdown lines saying which ``rows`` give mean ± std over the report's seeds (none
    with one seed); ``rest``: what the sentence adds."""
    seeds = report.get("seeds", [report.get("seed", 0)])
    if len(seeds) < 2:
        return []
    listed = ", ".join(map(str, seeds))
    return ["", f"{rows}: mean ± sample std over seeds {listed}; every seed's figures are in "
            f"the JSON under the row's `seeds`{rest}."]  # fmt: skip


def resumed_lines(names) -> list[str]:
    """Markdown lines naming the rows an earlier run trained (``--resume`` reused them)."""
    if not names:
        return []
    return ["", "Rows trained by an earlier run of this command (same gin files, bindings, "
            "folder and package source; `--resume`): " + "; ".join(names) + "."]  # fmt: skip
