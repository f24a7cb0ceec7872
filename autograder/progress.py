"""What a TA watches during `grade`: a tqdm bar (done/total, rate, ETA) and the count of each status so far.

`Progress` is the `on_result` callback of `runner.grade_batch` and `cluster.grade_batch`: call it
with each `SubmissionResult` as it finishes. The bar goes to stderr and is drawn only on a terminal
(or when asked); the counts are kept either way, and `summary()` is the line printed at the end.
"""
from __future__ import annotations

import sys
import time
from collections import Counter

STATUSES = ("graded", "invalid", "timeout", "error", "grader-error")   # runner.SubmissionResult.status
SHOWN_ALWAYS = ("graded", "invalid", "timeout", "grader-error")        # "error" only when some occurred


class Progress:
    """Counts finished submissions by status and shows them on a progress bar."""

    def __init__(self, total: int, *, enabled: bool | None = None, file=None, desc: str = "grading"):
        from tqdm import tqdm

        file = file if file is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(file, "isatty", lambda: False)())
        self.total = total
        self.counts: Counter = Counter()
        self.started = time.perf_counter()
        self.bar = tqdm(total=total, desc=desc, unit="sub", file=file, disable=not enabled, dynamic_ncols=True,
                        smoothing=0.1)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def statuses(self) -> str:
        """'3 graded, 1 invalid, 0 timeout, 0 grader-error' (and any other status that occurred)."""
        names = [s for s in STATUSES if s in SHOWN_ALWAYS or self.counts[s]]
        names += sorted(set(self.counts) - set(STATUSES))
        return ", ".join(f"{self.counts[s]} {s}" for s in names)

    def __call__(self, result) -> None:
        self.counts[result.status] += 1
        self.bar.set_postfix_str(self.statuses(), refresh=False)
        self.bar.update(1)

    def summary(self) -> str:
        """The closing line: how many, how long, per submission, and the statuses."""
        seconds = time.perf_counter() - self.started
        per = f" ({seconds / self.done:.1f} s per submission)" if self.done else ""
        return f"{self.done}/{self.total} submissions in {seconds:.0f} s{per}: {self.statuses()}"

    def close(self) -> None:
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
