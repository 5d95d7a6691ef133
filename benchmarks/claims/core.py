"""The claims ledger's machinery: a registry of claims, the values a result JSON holds for a
row (every seed), and the written rules that turn two samples into a verdict.

A claim reads the loaded result reports (``stem -> JSON dict``, e.g. ``"table2"``) and returns
a :class:`Verdict`. Rows of a report are picked by a predicate on the row (its ``method`` or
``column``); a row's values are its ``metrics`` dict and, when the harness ran several seeds,
each entry of its ``seeds`` list (dicts with ``seed`` and ``metrics``) or several rows with
the same method and different ``seed`` keys. Rules:

- ``compare``: the claim is "a is better than b by more than a margin" (0: better at all).
  With s the sum of the two stds, holds when the better-minus-worse difference of the means
  minus s is above the margin, does not hold when the difference plus s is below it;
  inconclusive otherwise, and always with fewer than two seeds on either side (the
  measurement then says "single seed"). With margin 0 this is "the mean +- std intervals do
  not overlap"; with a margin, a difference whose band cannot reach it does not hold even
  where the two intervals overlap.
- ``threshold``: the claim is "value >= limit" (or <=): holds when mean - std clears it, does
  not hold when mean + std misses it; inconclusive between, or with one seed only when the
  value is within ``single_seed_band`` of the limit.
- ``compare_paired``: the claim is "a is better than b by more than a margin" where a and b
  are one model in two settings over the same seeds (the same data, initialisation and
  rays: bf16 against float32). With d the difference a - b seed by seed over the seeds both
  rows ran, holds when mean(d) - std(d) is above the margin, does not hold when mean(d) +
  std(d) is below it, inconclusive between; the seed-to-seed spread both rows share cancels
  in d, which the band of the stds' sum counts twice. With fewer than two seeds in common it
  is ``compare``.
- Missing values (n/a in a table) give "inconclusive" with the reason.

For every "does not hold", the ledger looks for ablation rows naming the claim: a row with
``"ablation": {"claims": [claim id, ...], "isolates": "what it changes"}``; its measured
difference is the cause, else the cause reads "cause not yet measured".

- ``contested``: a comparison that holds as measured, while an ablation of its worse row
  (``"baseline"`` = that row, in the same table) beats the better row by the same rule, on
  the claim's metric: the margin then comes from the worse row's setup rather than from the
  method (e.g. RAD-NeRF's O with the torso in the 3D field against O with the originals'
  2D torso). With one seed on either side, seed 0 against seed 0, and it says "single seed".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BF16_MARGIN_DB",
    "CLAIMS",
    "against_float32",
    "bf16_claim",
    "compare_paired",
    "paired_difference",
    "paired_within",
    "seed_values",
    "seed_by_seed",
    "Claim",
    "Sample",
    "Verdict",
    "Pair",
    "claim",
    "compare",
    "contest",
    "find_cause",
    "region_note",
    "alpha_note",
    "explained",
    "noted",
    "row_sample",
    "run_label",
    "RUN_LABELS",
    "sample",
    "sync_note",
    "threshold",
]

HOLDS, FAILS, INCONCLUSIVE, CONTESTED = "holds", "does not hold", "inconclusive", "contested"
VERDICTS = (HOLDS, CONTESTED, FAILS, INCONCLUSIVE)


@dataclass(frozen=True)
class Sample:
    """A measurement over seeds: values (one per seed, None dropped) and what it describes."""

    values: tuple
    label: str

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n if self.n else math.nan

    @property
    def std(self) -> float:
        if self.n < 2:
            return 0.0
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (self.n - 1))

    def text(self, digits: int = 2) -> str:
        if not self.n:
            return f"{self.label}: n/a"
        if self.n == 1:
            return f"{self.label} {self.values[0]:.{digits}f} (single seed)"
        return f"{self.label} {self.mean:.{digits}f} ± {self.std:.{digits}f} ({self.n} seeds)"


@dataclass(frozen=True)
class Verdict:
    """measured: our numbers; verdict: holds / does not hold / inconclusive; cause: the
    note; explained: the judge itself measured the cause (the ledger then adds no "cause not
    yet measured")."""

    measured: str
    verdict: str
    cause: str = ""
    explained: bool = False


def explained(v: Verdict, cause: str) -> Verdict:
    """A miss with the cause a measurement file gives (unchanged without one, or when the
    claim holds)."""
    if not cause or v.verdict == HOLDS:
        return v
    return Verdict(v.measured, v.verdict, f"{v.cause}; {cause}" if v.cause else cause, True)


def noted(v: Verdict, note: str, on_hold: bool = False) -> Verdict:
    """``v`` with a note appended to its cause (a context, not a measured cause: unlike
    :func:`explained` it leaves ``explained`` as it was); unchanged without a note or when
    the claim holds, unless ``on_hold`` (a context worth reading either way: what a faster
    setting saves)."""
    if not note or (v.verdict == HOLDS and not on_hold):
        return v
    return Verdict(v.measured, v.verdict, f"{v.cause}; {note}" if v.cause else note, v.explained)


def sync_note(report: dict | None, a: Sample, b: Sample, picks=None) -> str:
    """A sync-confidence comparison's context: each row's value per seed, its AV offset per
    seed where ``picks`` (the two rows' picks) are given and the rows record it (0 = in sync: a
    confidence read at an offset is a peak of the wrong lag), and the table's reference rows
    measured the same way (ground truth: the ceiling; one static frame: the floor); "" when
    neither row has values."""
    if not (a.n or b.n):
        return ""

    def seeds(x: Sample) -> str:
        return f"{x.label} " + (", ".join(f"{v:.2f}" for v in x.values) if x.n else "n/a")

    parts = [f"sync confidence per seed: {seeds(a)}; {seeds(b)}"]
    if picks is not None:
        offs = [sample(report, p, "sync_offset", x.label) for p, x in zip(picks, (a, b))]
        if all(o.n for o in offs):
            each = ["{} {}".format(o.label, ", ".join(f"{v:+.0f}" if v else "0" for v in o.values))
                    for o in offs]  # fmt: skip
            parts.append("AV offset per seed (frames, 0 = in sync): " + "; ".join(each))
    refs = []
    for ref in (report or {}).get("references") or []:
        v = (ref.get("metrics") or {}).get("sync_conf")
        if isinstance(v, int | float):
            refs.append(f"{ref.get('method')} {v:.2f}")
    if refs:
        parts.append("reference rows: " + ", ".join(refs))
    return "; ".join(parts)


@dataclass(frozen=True)
class Pair:
    """What a comparison claim compares: rows ``better`` and ``worse`` of result file
    ``table`` on ``metric`` (``higher`` is better or not); lets the ledger test the verdict
    against the ablations of the worse row (:func:`contest`)."""

    table: str
    better: str
    worse: str
    metric: str = "psnr"
    higher: bool = True


@dataclass(frozen=True)
class Claim:
    """One row of the ledger: ``id`` (stable key), ``source`` (paper and table), ``text`` (the
    claim with the paper's number), ``judge(reports) -> Verdict``; ``cause_id``: the id the
    ablation rows name for it (default ``id``: a claim judged again on another table, e.g. on
    the RAD-NeRF backbone, shares its ablations' id), ``tables``: the result files whose
    ablation rows may explain it (empty: every file); ``pair``: the rows a comparison claim
    compares (:class:`Pair`), when it is one; ``cause_metric``: what an ablation row is
    quoted by beside the row it ablates (PSNR, or e.g. ``region_shares.att_lip``)."""

    id: str
    source: str
    text: str
    judge: Callable[[dict], Verdict]
    cause_id: str | None = None
    tables: tuple[str, ...] = ()
    pair: Pair | None = None
    cause_metric: str = "psnr"


CLAIMS: list[Claim] = []
# what a reader must know of a result file beside which an ablation is quoted, e.g. that it
# predates a changed default: functions (stem, report) -> text or "", which claim modules add
RUN_LABELS: list[Callable[[str, dict], str]] = []


def run_label(stem: str, report: dict) -> str:
    """The labels of :data:`RUN_LABELS` for the result file ``stem`` as " (a; b)", or ""."""
    found = [t for t in (f(stem, report) for f in RUN_LABELS) if t]
    return f" ({'; '.join(found)})" if found else ""


def claim(id: str, source: str, text: str, cause_id: str | None = None, tables=(),
          pair: Pair | None = None, cause_metric: str = "psnr"):  # fmt: skip
    """Decorator registering ``judge(reports) -> Verdict`` as a claim (ids are unique;
    ``cause_id``, ``tables``, ``pair`` and ``cause_metric``: :class:`Claim`)."""

    def register(judge):
        if any(c.id == id for c in CLAIMS):
            raise ValueError(f"claim {id!r} is registered twice")
        CLAIMS.append(Claim(id, source, text, judge, cause_id, tuple(tables), pair,
                            cause_metric))  # fmt: skip
        return judge

    return register


def _get(metrics: dict | None, metric: str):
    """``metric`` of a metrics dict; a dotted name reads nested dicts (``region_shares.x``)."""
    for part in metric.split("."):
        metrics = metrics.get(part) if isinstance(metrics, dict) else None
    return metrics


def _row_values(row: dict, metric: str) -> list:
    seeds = row.get("seeds")
    if seeds:
        return [_get(s.get("metrics", s), metric) for s in seeds]
    return [_get(row.get("metrics"), metric)]


def sample(report: dict | None, pick: Callable[[dict], bool], metric: str, label: str) -> Sample:
    """Every seed's ``metric`` of the rows of ``report`` that ``pick`` selects (None, NaN and
    a missing report give no values)."""
    values = []
    for row in (report or {}).get("results", []):
        if pick(row):
            values += _row_values(row, metric)
    ok = tuple(float(v) for v in values if isinstance(v, int | float) and not math.isnan(v))
    return Sample(ok, label)


def row_sample(report: dict | None, pick: Callable[[dict], bool], field: str, label: str,
               scale: float = 1.0) -> Sample:  # fmt: skip
    """Like :func:`sample`, for a value a row holds outside its metrics (a dotted ``field``
    of the row itself, e.g. ``train_seconds`` or ``probes.leakage``), times ``scale``: every
    seed's where each of the row's ``seeds`` records holds the field, else the row's own."""
    values = []
    for row in (report or {}).get("results", []):
        if pick(row):
            seeds = row.get("seeds") or []
            each = [_get(s, field) for s in seeds]
            values += each if seeds and None not in each else [_get(row, field)]
    ok = tuple(float(v) * scale for v in values
               if isinstance(v, int | float) and not math.isnan(v))  # fmt: skip
    return Sample(ok, label)


def seed_values(report: dict | None, pick: Callable[[dict], bool], metric: str) -> dict:
    """{seed: ``metric``} of the rows of ``report`` that ``pick`` selects (each of a row's
    ``seeds`` records by its ``seed``, else its place in the list, as the harness writes
    them; else the row itself by its ``seed``, 0 when it names none); None, NaN and a missing
    report give no entry."""
    out = {}
    for row in (report or {}).get("results", []):
        if not pick(row):
            continue
        records = row.get("seeds") or [dict(row, seed=row.get("seed", 0))]
        for place, rec in enumerate(records):
            v = _get(rec.get("metrics", rec), metric)
            if isinstance(v, int | float) and not math.isnan(v):
                out[int(rec.get("seed", place))] = float(v)
    return out


def paired_difference(by_seed_a: dict, by_seed_b: dict) -> tuple[list, Sample]:
    """The seeds both :func:`seed_values` dicts hold, sorted, and a - b on each of them."""
    common = sorted(set(by_seed_a) & set(by_seed_b))
    return common, Sample(tuple(by_seed_a[k] - by_seed_b[k] for k in common), "a - b")


def compare_paired(a: Sample, b: Sample, by_seed_a: dict, by_seed_b: dict,
                   higher_is_better: bool = True, margin: float = 0.0,
                   digits: int = 2) -> Verdict:  # fmt: skip
    """Verdict on "a is better than b by more than ``margin``" for one model in two settings
    over the same seeds (``by_seed_a``, ``by_seed_b``: :func:`seed_values` of the two rows;
    the rule in the module doc), ``compare`` with fewer than two seeds in common."""
    common, raw = paired_difference(by_seed_a, by_seed_b)
    gap = _missing(a, b)
    if gap or len(common) < 2:
        return gap or compare(a, b, higher_is_better, margin, digits)
    sign = 1.0 if higher_is_better else -1.0
    d = Sample(tuple(sign * x for x in raw.values), "")  # in the claim's direction
    each = ", ".join(f"{x:+.{digits}f}" for x in raw.values)
    measured = (f"{a.text(digits)} vs {b.text(digits)}; paired over seeds "
                f"{', '.join(map(str, common))}: {each} (mean {raw.mean:+.{digits}f} ± "
                f"{raw.std:.{digits}f})")  # fmt: skip
    if d.mean - d.std > margin:
        return Verdict(measured, HOLDS)
    if d.mean + d.std < margin:
        return Verdict(measured, FAILS)
    band = f"{d.mean:+.{digits}f} ± {d.std:.{digits}f}"
    return Verdict(measured, INCONCLUSIVE, f"the paired difference ± its std ({band}) reaches "
                   f"the claimed margin {margin:g}")  # fmt: skip


def _missing(*samples: Sample) -> Verdict | None:
    gone = [s.label for s in samples if not s.n]
    if gone:
        return Verdict("; ".join(s.text() for s in samples), INCONCLUSIVE,
                       f"not measured: {', '.join(gone)} n/a in the results")  # fmt: skip
    return None


def compare(a: Sample, b: Sample, higher_is_better: bool = True, margin: float = 0.0,
            digits: int = 2) -> Verdict:  # fmt: skip
    """Verdict on "a is better than b by more than ``margin``" (rules in the module doc)."""
    gap = _missing(a, b)
    if gap:
        return gap
    sign = 1.0 if higher_is_better else -1.0
    diff = sign * (a.mean - b.mean)
    measured = f"{a.text(digits)} vs {b.text(digits)}; difference {sign * diff:+.{digits}f}"
    if a.n < 2 or b.n < 2:
        if diff > margin:
            how = "the direction agrees with the claim"
        elif diff > 0:
            how = f"the direction agrees, the difference is under the claimed {margin:g}"
        else:
            how = "the direction opposes the claim"
        return Verdict(measured, INCONCLUSIVE, f"single seed: {how}")
    spread = a.std + b.std
    if diff - spread > margin:
        return Verdict(measured, HOLDS)
    if diff + spread < margin:
        return Verdict(measured, FAILS)
    if margin == 0:
        return Verdict(measured, INCONCLUSIVE, "mean ± std intervals overlap")
    band = f"{diff:+.{digits}f} ± {spread:.{digits}f}"
    return Verdict(measured, INCONCLUSIVE, f"the difference ± the stds' sum ({band}) reaches "
                   f"the claimed margin {margin:g}")  # fmt: skip


def threshold(a: Sample, limit: float, at_least: bool = True, digits: int = 2,
              single_seed_band: float = 0.0) -> Verdict:  # fmt: skip
    """Verdict on "a >= limit" (``at_least``) or "a <= limit" (rules in the module doc)."""
    gap = _missing(a)
    if gap:
        return gap
    sign = 1.0 if at_least else -1.0
    margin = sign * (a.mean - limit)
    measured = f"{a.text(digits)}; limit {'≥' if at_least else '≤'} {limit:g}"
    spread = a.std if a.n >= 2 else single_seed_band
    if margin - spread >= 0:
        return Verdict(measured, HOLDS, "" if a.n >= 2 else "single seed")
    if margin + spread < 0:
        return Verdict(measured, FAILS, "" if a.n >= 2 else "single seed")
    why = "mean ± std reaches the limit" if a.n >= 2 else "single seed near the limit"
    return Verdict(measured, INCONCLUSIVE, why)


def _named(method):
    return lambda r: r.get("method") == method


def _seed0(report: dict, method: str, metric: str = "psnr") -> Sample | None:
    """The seed-0 ``metric`` of the row named ``method`` (None when the row lists no seed 0)."""
    for row in report.get("results", []):
        if row.get("method") == method:
            for s in row.get("seeds") or ():
                v = _get(s.get("metrics", s), metric)
                if s.get("seed") == 0 and isinstance(v, int | float):
                    return Sample((float(v),), method)
    return None


def contest(pair: Pair, reports: dict, digits: int = 2) -> str:
    """The ablations of ``pair.worse`` (rows of ``pair.table`` whose ``ablation.baseline`` is
    it) that beat ``pair.better`` on the pair's metric by :func:`compare`'s rule, or seed 0
    against seed 0 where either side has one seed; "" when none does."""
    report = reports.get(pair.table) or {}
    better = sample(report, _named(pair.better), pair.metric, pair.better)
    found = []
    for row in report.get("results", []):
        abl = row.get("ablation") or {}
        if abl.get("baseline") != pair.worse:
            continue
        name = row.get("method")
        a = sample(report, _named(name), pair.metric, f"'{name}'")
        b = better
        if a.n == 1 and b.n > 1:
            b = _seed0(report, pair.better, pair.metric) or b
        if not (a.n and b.n):
            continue
        sign = 1.0 if pair.higher else -1.0
        diff = sign * (a.mean - b.mean)
        if a.n >= 2 and b.n >= 2:
            beats = diff > 0 and abs(a.mean - b.mean) > a.std + b.std
            text = f"{a.text(digits)} beats {b.text(digits)}"
        else:
            beats = diff > 0
            text = (f"'{name}' {a.mean:.{digits}f} beats {pair.better} {b.mean:.{digits}f}"
                    " (seed 0, single seed)")  # fmt: skip
        if beats:
            found.append(f"{text} ({abl.get('isolates', '?')})")
    if not found:
        return ""
    return (f"contested: an ablation of the worse row '{pair.worse}' beats '{pair.better}' on "
            f"{pair.metric}: " + "; ".join(found))  # fmt: skip


# the studio's regions a row's PSNR is split into (harness.measures.REGION_PSNR_KEYS)
REGIONS = (("head", "psnr_head"), ("torso + neck", "psnr_torso"), ("background", "psnr_bg"))


def _region_sample(report, m: str, key: str) -> tuple[Sample, str]:
    """A row's PSNR over one studio region and where it comes from: its metrics (every seed)
    or, where a table keeps it only in the row's evaluation, ``eval.<key>`` (seed 0)."""
    s = sample(report, _named(m), key, m)
    if s.n:
        return s, f"means of {s.n} seeds" if s.n > 1 else "one seed"
    return row_sample(report, _named(m), f"eval.{key}", m), "seed 0"


def region_cells(report, a: str, b: str) -> tuple[str, str]:
    """Where a PSNR difference between rows a and b lies: ("head x vs y, torso + neck ...,
    background ...", where the values come from), or ("", "") when the report has no
    regions."""
    cells, source = [], ""
    for name, key in REGIONS:
        (sa, source), (sb, _) = _region_sample(report, a, key), _region_sample(report, b, key)
        if not (sa.n and sb.n):
            return "", ""
        cells.append(f"{name} {sa.mean:.2f} vs {sb.mean:.2f}")
    return ", ".join(cells), source


def region_note(report, a: str, b: str) -> str:
    """Where a PSNR difference lies: "PSNR by region (a vs b, <source>): head x vs y, ..."
    ("" when the report has no regions)."""
    cells, source = region_cells(report, a, b)
    return f"PSNR by region ({a} vs {b}, {source}): {cells}" if cells else ""


def _ablation_regions(report: dict, row: str, base: str) -> str:
    """Where an ablation's PSNR change lies, region by region beside its base row
    (" (by region: head a vs b, ...)"; "" when the rows have no regions)."""
    cells, _ = region_cells(report, row, base)
    return f" (by region: {cells})" if cells else ""


def _pretrained(report: dict):
    """What a report's rows were trained from besides the package source: its pre-training
    record (a DH-NeRF table's code extractor, ``assets.bank``, whether the recipe came from
    ``--extractor`` or the defaults), else the keywords its run gave that pre-training
    (``--extractor``, reports before the record; None for a table without either)."""
    bank = (report.get("assets") or {}).get("bank")
    return ("bank", bank) if bank is not None else ("keywords", report.get("extractor"))


def _with_base_row(stem: str, report: dict, row: dict, base: str, reports: dict):
    """An ablation run without its base row (a run of some of a table's rows): ``report``
    with the row named ``base`` of another report of the same table (the stem's last part)
    trained from the same package source and pre-trained assets as ``row`` added, and where
    it came from (" beside <stem>'s '<base>'", naming the other machine when the reports'
    platforms differ: float rounding, and so each seed's result, differs between kinds of
    CPU); (report, "") when no such row exists."""
    table, tree = stem.rsplit("/", 1)[-1], row.get("package_tree")
    for other, rep in sorted(reports.items()):
        if other == stem or other.rsplit("/", 1)[-1] != table or tree is None:
            continue
        if _pretrained(rep) != _pretrained(report):  # e.g. another DH-NeRF code extractor
            continue
        for cand in rep.get("results", []):
            if cand.get("method") == base and cand.get("package_tree") == tree:
                merged = dict(report, results=[*report.get("results", []), cand])
                here = (report.get("machine") or {}).get("platform")
                there = (rep.get("machine") or {}).get("platform")
                machine = f", another machine: {there}" if here != there else ""
                return merged, f" beside {other}'s '{base}' (same package source{machine})"
    return report, ""


def find_cause(claim_id: str, reports: dict, tables=(), metric: str = "psnr") -> str:
    """The measured cause of a miss: the ablation rows naming ``claim_id`` (their ``metric``
    beside the row they ablate, when the JSON gives ``baseline``) in the ``tables`` of
    ``reports`` (empty: all), else "cause not yet measured"."""
    label = "PSNR" if metric == "psnr" else metric.rsplit(".", 1)[-1]
    found = []
    for stem, report in sorted(reports.items()):
        if tables and stem not in tables:
            continue
        rows = report.get("results", [])
        for row in rows:
            abl = row.get("ablation") or {}
            if claim_id not in abl.get("claims", ()):
                continue
            text = (f"{stem}{run_label(stem, report)} ablation '{row.get('method')}' "
                    f"({abl.get('isolates', '?')})")  # fmt: skip
            base = abl.get("baseline")
            src = report  # the ablation's report, with its base row from another if need be
            if base is not None and not sample(report, _named(base), metric, "").n:
                src, where = _with_base_row(stem, report, row, base, reports)
                text += where
            if base is not None:
                a = sample(src, _named(row.get("method")), metric, "")
                b = sample(src, _named(base), metric, "")
                if a.n == 1 and b.n > 1:  # a seed-0 ablation against its row's seed 0
                    b = _seed0(src, base, metric) or b
                if a.n and not b.n:  # a partial run, no base row of its package source
                    text += (f": {label} {a.text(2).strip()}; no '{base}' row of the same "
                             "package source to stand beside")  # fmt: skip
                elif a.n > 1:  # an ablation over seeds: both as mean ± std (n seeds)
                    text += f": {label} {a.text(2).strip()} vs {b.text(2).strip()} for '{base}'"
                    if metric == "psnr":
                        text += _ablation_regions(src, row.get("method"), base)
                elif a.n and b.n:
                    seeds = " (seed 0)" if a.n == 1 and b.n == 1 else ""
                    text += f": {label} {a.mean:.2f} vs {b.mean:.2f} for '{base}'{seeds}"
                if metric != "psnr":  # what the change costs or gains in the picture
                    pa = sample(src, _named(row.get("method")), "psnr", "")
                    pb = _seed0(src, base) if pa.n == 1 else None
                    pb = pb or sample(src, _named(base), "psnr", "")
                    if pa.n and pb.n:
                        text += f" (PSNR {pa.mean:.2f} vs {pb.mean:.2f})"
            found.append(text)
    return "; ".join(found) if found else "cause not yet measured"


def alpha_note(report, a: str, b: str, stem: str = "") -> str:
    """Where rows a and b put the fields' alpha outside the head (a report of ``python
    benchmarks/error_regions.py ... --out``, its ``by_method``): per region, the pixels each
    field covers (alpha > 0.1), the share of the region's error within the head's outline and
    the covered pixels further out; "" when the report lacks either row."""
    methods = (report or {}).get("by_method") or {}
    if a not in methods or b not in methods:
        return ""
    near = ((report.get("results") or [{}])[0]).get("near_px", 3)

    def cell(m, region, key):
        v = methods[m].get(region, {}).get(key)
        return f"{100 * v[0]:.1f}%" if v else "n/a"

    parts = []
    for name, region in (("background", "background"), ("torso + neck", "torso+neck")):
        if region not in methods[a] or region not in methods[b]:
            continue
        parts.append(f"{name}: covered (alpha > 0.1) {cell(a, region, 'covered_share')} vs "
                     f"{cell(b, region, 'covered_share')}, error within {near} px of the head "
                     f"{cell(a, region, 'near_head_error_share')} vs "
                     f"{cell(b, region, 'near_head_error_share')}, covered further out "
                     f"{cell(a, region, 'covered_far_share')} vs "
                     f"{cell(b, region, 'covered_far_share')}")  # fmt: skip
    neck = "torso+neck: neck"  # with error_regions.py --labels: does a field draw the neck?
    if parts and neck in methods[a] and neck in methods[b]:
        psnr = lambda m, key="psnr": f"{methods[m][neck][key][0]:.2f}"  # noqa: E731
        parts.append(f"the neck alone: covered {cell(a, neck, 'covered_share')} vs "
                     f"{cell(b, neck, 'covered_share')}, PSNR {psnr(a)} vs {psnr(b)} (the "
                     f"background image alone {psnr(a, 'background_image_psnr')})")  # fmt: skip
    if not parts:
        return ""
    n = min((methods[m][r]["psnr"][2] for m in (a, b) for r in methods[m]
             if "psnr" in methods[m][r]), default="?")  # fmt: skip
    src = f"{stem}, " if stem else ""
    return f"alpha by region ({a} vs {b}, {src}means of {n} seed(s)): " + "; ".join(parts)


def labels_note(report, a: str, b: str, label_a: str, label_b: str, stem: str = "") -> str:
    """Where inside the head rows a and b differ (a report of ``python
    benchmarks/error_regions.py ... --labels --out``, its ``by_method``): per studio label of
    the head, PSNR and the field's mean alpha a vs b, and the label's share of a's squared
    error; "" when the report lacks either row or the labels."""
    methods = (report or {}).get("by_method") or {}
    if a not in methods or b not in methods:
        return ""
    heads = [r for r in methods[a] if r.startswith("head: ") and r in methods[b]]
    if not heads:
        return ""

    def val(m, region, key):
        return methods[m][region][key][0]

    parts = [f"{r[6:]} {val(a, r, 'psnr'):.2f} vs {val(b, r, 'psnr'):.2f} dB, alpha "
             f"{val(a, r, 'mean_alpha'):.2f} vs {val(b, r, 'mean_alpha'):.2f}"
             + (f", {100 * val(a, r, 'error_share'):.0f}% of {label_a}'s error"
                if "error_share" in methods[a][r] else "")
             for r in heads]  # fmt: skip
    n = min(methods[m][r]["psnr"][2] for m in (a, b) for r in heads)
    src = f"{stem}, " if stem else ""
    return (f"the head by the studio's labels ({label_a} vs {label_b}, {src}means of {n} "
            f"seed(s)): " + "; ".join(parts))  # fmt: skip


BF16_MARGIN_DB = 0.2  # issue 18: a bf16 schedule counts as the CPU default within 0.2 dB


def seed_by_seed(a: Sample, b: Sample) -> str:
    """a - b seed by seed, and their mean ± std, for two samples over the same seeds (paired:
    the same data, initialisation and rays), which the rules' band of the stds' sum does not
    see."""
    d = Sample(tuple(x - y for x, y in zip(a.values, b.values)), "")
    each = ", ".join(f"{x:+.2f}" for x in d.values)
    return f"seed by seed {each} (mean {d.mean:+.2f} ± {d.std:.2f})"


def paired_within(report_a: dict | None, pick_a, report_b: dict | None, pick_b, la: str,
                  lb: str, margin: float = BF16_MARGIN_DB) -> Verdict:  # fmt: skip
    """Judge "the row ``pick_a`` picks in ``report_a`` within ``margin`` dB PSNR of the row
    ``pick_b`` picks in ``report_b``" (labels la, lb) for one model in two settings (bf16
    against float32, one occupancy refresh against another) by ``compare_paired``: the seeds
    pair (the same data, initialisation and rays)."""
    a, b = sample(report_a, pick_a, "psnr", la), sample(report_b, pick_b, "psnr", lb)
    return compare_paired(a, b, seed_values(report_a, pick_a, "psnr"),
                          seed_values(report_b, pick_b, "psnr"), True, -margin)  # fmt: skip


def against_float32(report: dict | None, bf16, fp32, la: str, lb: str) -> Verdict:
    """Judge "the row ``bf16`` picks within :data:`BF16_MARGIN_DB` PSNR of the float32 row
    ``fp32`` picks" in one report (labels la, lb; :func:`paired_within`). Noted beside the verdict:
    both rows' training minutes."""
    v = paired_within(report, bf16, report, fp32, la, lb)
    notes = []
    ta = row_sample(report, bf16, "train_seconds", "", scale=1 / 60)
    tb = row_sample(report, fp32, "train_seconds", "", scale=1 / 60)
    if ta.n and tb.n:
        jobs = ((report or {}).get("machine") or {}).get("jobs_in_parallel")
        at_once = f", {jobs} job(s) at once" if jobs else ""
        notes.append(f"trained in {ta.mean:.1f} against {tb.mean:.1f} min{at_once}")
    return noted(v, "; ".join(notes), on_hold=True)


def bf16_claim(id: str, what: str, where: str, stem: str, bf16, fp32, la: str, lb: str):
    """Register claim ``id``: ``what`` (a model's training) with configs/bf16.gin within
    :data:`BF16_MARGIN_DB` of float32 on ``where`` (a table and profile), judged by
    :func:`against_float32` on report ``stem``'s rows ``bf16`` and ``fp32`` (picks)."""
    text = (
        f"{what} in float32 for the first 1/4 of its steps and under bf16 autocast after "
        f"(configs/bf16.gin) within {BF16_MARGIN_DB:g} dB PSNR of float32 ({where})"
    )
    claim(id, "issue 18 target, bf16 as the CPU default", text, tables=(stem,))(
        lambda reports: against_float32(reports.get(stem), bf16, fp32, la, lb)
    )
