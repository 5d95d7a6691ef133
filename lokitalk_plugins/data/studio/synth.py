"""Write many studio identities, optionally in parallel processes."""

from __future__ import annotations

from pathlib import Path

from .writer import write_identity

__all__ = ["synth"]


def synth(
    out,
    identities: int = 3,
    seconds: float = 10.0,
    size: int = 128,
    seed: int = 0,
    fps: int = 25,
    n_mels: int = 32,
    first: int = 0,
    progress: bool = False,
    workers: int = 1,
    lighting: bool = False,
    blink_gap: tuple[float, float] | None = None,
    torso_follow: float | None = None,
    light_frame: str | None = None,
) -> list[Path]:
    """Write identities first .. first + identities - 1 to ``out/id000``, ``out/id001``, ...
    (each with its ``.truth`` sibling), in ``workers`` processes (one torch thread each);
    one progress bar with ETA over all frames when progress; lighting: the moving key light
    (``write_identity``), off by default; blink_gap: (lo, hi) seconds between blinks (default
    2-6 s); torso_follow: k in [0, 1], how far the torso follows the head (default: its own
    lagging track); light_frame: 'head' attaches the fixed key light to the head (default:
    the camera)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(out / f"id{first + k:03d}", first + k) for k in range(identities)]
    kw = dict(seconds=seconds, size=size, seed=seed, fps=fps, n_mels=n_mels)
    if lighting:
        kw["lighting"] = True
    if blink_gap is not None:
        kw["blink_gap"] = tuple(blink_gap)
    if torso_follow is not None:
        kw["torso_follow"] = float(torso_follow)
    if light_frame is not None:
        kw["light_frame"] = light_frame
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=identities * int(round(seconds * fps)), desc="studio", unit="frame")
    try:
        if workers <= 1 or identities <= 1:
            for folder, ident in jobs:
                if bar is not None:
                    bar.set_postfix_str(f"identity {ident}")
                write_identity(folder, identity=ident, progress=bar, **kw)
        else:
            _parallel(jobs, kw, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    return [folder for folder, _ in jobs]


class _QueueProgress:
    """Progress sink for a worker process: forwards frame counts to the parent's bar."""

    def __init__(self, queue):
        self.queue = queue

    def update(self, n: int = 1) -> None:
        self.queue.put(n)

    def __bool__(self) -> bool:
        return True


def _worker(folder, ident, kw, queue):
    write_identity(folder, identity=ident, progress=_QueueProgress(queue) if queue else None, **kw)
    return str(folder)


def _parallel(jobs, kw, workers, bar) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        q = manager.Queue() if bar is not None else None
        pending = {pool.submit(_worker, f, i, kw, q) for f, i in jobs}
        while pending:
            done, pending = wait(pending, timeout=0.2)
            for fut in done:
                fut.result()  # re-raise a worker's error here
            while q is not None:
                try:
                    bar.update(q.get_nowait())
                except queue_mod.Empty:
                    break
