"""What a graded property can come to, and the report a student reads.

A hidden check is a pytest test. It passes (full points), raises `CheckFailed("short reason")`
(no points), raises `Partial(fraction, reason)`, or is skipped with a visible note (full points,
e.g. no GPU). Student code reached through the worker raises `StudentError`,
`StudentTimeout` or `WorkerLost`; a dependency that failed raises `NotChecked`. Anything else
escaping a check is the grader's own error: the student sees a fixed sentence and the
instructor gets the traceback.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

GRADER_ERROR = "grader error — your instructor has been notified"
MARKS = {"pass": "✓", "partial": "~", "fail": "✗", "skip": "·", "error": "!"}


class CheckFailed(AssertionError):
    """A property does not hold; the message is shown to the student."""


class Partial(Exception):
    """A property holds in part: `fraction` of its points, and why not all."""

    def __init__(self, fraction: float, message: str = ""):
        super().__init__(message)
        self.fraction = min(max(float(fraction), 0.0), 1.0) if math.isfinite(fraction) else 0.0
        self.message = message


class NotChecked(Exception):
    """A property that depends on an earlier one that failed."""

    def __init__(self, reason: str = "an earlier step failed"):
        super().__init__(f"not checked: {reason}")


class StudentError(Exception):
    """Student code raised (in the worker). Carries only the type names and the capped first message line."""

    def __init__(self, info: dict, what: str = ""):
        self.type = str(info.get("type", "Exception"))
        self.mro = [str(m) for m in info.get("mro", [])]
        self.detail = str(info.get("message", ""))
        self.what = what
        super().__init__(self.describe())

    def is_a(self, name: str) -> bool:
        """Whether the student's exception is an instance of the built-in exception `name`."""
        return name in self.mro or self.type == name

    @property
    def not_implemented(self) -> bool:
        return self.is_a("NotImplementedError")

    def describe(self) -> str:
        said = f"raised {self.type}" + (f": {self.detail}" if self.detail else "")
        return f"{self.what} {said}" if self.what else said


class StudentTimeout(Exception):
    """Student code ran past the time budget of the request."""

    def __init__(self, budget_s: float):
        super().__init__(f"took longer than {budget_s:g} s")
        self.budget_s = budget_s


class WorkerLost(Exception):
    """The worker process died or broke the protocol (out of memory, killed, garbage on the channel)."""

    def __init__(self, reason: str):
        super().__init__(f"the notebook's code stopped the grading worker ({reason})")


@dataclass
class Outcome:
    name: str
    points: float
    earned: float
    status: str                # pass | partial | fail | skip | error
    message: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    """One graded item's properties and points."""
    title: str
    outcomes: list = field(default_factory=list)
    device: str = "cpu"

    @property
    def score(self) -> float:
        return round(sum(o.earned for o in self.outcomes), 4)

    @property
    def max_score(self) -> float:
        return round(sum(o.points for o in self.outcomes), 4)

    @property
    def grader_error(self) -> bool:
        return any(o.status == "error" for o in self.outcomes)

    def failed(self) -> list:
        """Names of the properties that did not earn all their points."""
        return [o.name for o in self.outcomes if o.earned < o.points]

    def text(self) -> str:
        lines = [f"{self.title}: {_fmt(self.score)}/{_fmt(self.max_score)} points (checked on {self.device})"]
        for o in self.outcomes:
            line = f"  {MARKS[o.status]} {o.name} [{_fmt(o.earned)}/{_fmt(o.points)}]"
            if o.message:
                line += f": {o.message}"
            lines.append(line)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"title": self.title, "device": self.device, "outcomes": [asdict(o) for o in self.outcomes]}

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(data["title"], [Outcome(**o) for o in data["outcomes"]], data.get("device", "cpu"))

    def __str__(self) -> str:
        return self.text()


def _fmt(x: float) -> str:
    return f"{x:g}"
