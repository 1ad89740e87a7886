"""Measures the matcher on a labelled question file (the `eval` command and bench/)."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from bot.matching import Matcher, MatchResult


@dataclass(frozen=True)
class LabelledQuestion:
    q: str
    expect: str | None


@dataclass
class EvalReport:
    total: int
    in_scope: int
    top1: float
    wrong_answer: float
    suggested: float
    oos: int
    oos_false_answer: float
    latency_ms: dict[str, float]
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.total} questions: {self.in_scope} in scope, {self.oos} out of scope\n"
            f"top1 {self.top1:.3f}  wrong_answer {self.wrong_answer:.3f}  suggested {self.suggested:.3f}  "
            f"oos_false_answer {self.oos_false_answer:.3f}\n"
            f"latency p50 {self.latency_ms['p50']:.3f} ms  p99 {self.latency_ms['p99']:.3f} ms"
        )


def load_questions(path: Path | str) -> list[LabelledQuestion]:
    """Reads a YAML list of {q, expect}; a clear error names the bad item."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a YAML list of {{q, expect}} items")
    out = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or "expect" not in item:
            raise ValueError(f"{path}: item {n} needs a text 'q' and an 'expect' (intent id or null)")
        out.append(LabelledQuestion(item["q"], item["expect"]))
    return out


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def evaluate(
    questions: Iterable[LabelledQuestion], answer: Callable[[str], MatchResult] | Matcher
) -> EvalReport:
    match = answer.match if isinstance(answer, Matcher) else answer
    questions = list(questions)
    unknown = {q.expect for q in questions if q.expect is not None} - set(
        answer.kb.intents if isinstance(answer, Matcher) else {q.expect for q in questions}
    )
    if unknown:
        raise ValueError(f"the eval file expects intents the knowledge does not have: {', '.join(sorted(unknown))}")
    latencies: list[float] = []
    top1 = wrong = suggested = oos_answered = 0
    # The very first match pays one-off set-up costs (first allocations, library dispatch tables) that a
    # running bot pays once at start: the latencies below are the steady state people get.
    match("warm-up")
    misses = []
    for item in questions:
        start = time.perf_counter()
        result = match(item.q)
        latencies.append((time.perf_counter() - start) * 1000)
        got = result.intent_id
        if item.expect is None:
            if result.kind == "answer":
                oos_answered += 1
                misses.append({"q": item.q, "expect": None, "got": got, "kind": result.kind})
            continue
        if result.kind == "answer" and got == item.expect:
            top1 += 1
            continue
        if result.kind == "answer":
            wrong += 1
        elif item.expect in result.suggestions:
            suggested += 1
        misses.append({"q": item.q, "expect": item.expect, "got": got or list(result.suggestions), "kind": result.kind})
    in_scope = sum(1 for q in questions if q.expect is not None)
    oos = len(questions) - in_scope
    return EvalReport(
        total=len(questions),
        in_scope=in_scope,
        top1=top1 / in_scope if in_scope else 0.0,
        wrong_answer=wrong / in_scope if in_scope else 0.0,
        suggested=suggested / in_scope if in_scope else 0.0,
        oos=oos,
        oos_false_answer=oos_answered / oos if oos else 0.0,
        latency_ms={"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                    "mean": statistics.fmean(latencies) if latencies else 0.0},
        misses=misses,
    )


@dataclass(frozen=True)
class Bar:
    """One pass/fail bar for `eval`, so CI can fail on a drop in quality rather than read numbers."""

    name: str
    value: float
    limit: float
    at_least: bool  # True: value must reach limit; False: value must not exceed it

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "bar": self.limit, "met": self.met}

    def __str__(self) -> str:
        sign = "≥" if self.at_least else "≤"
        return f"{self.name} {self.value:.3f} (bar {sign} {self.limit:.3f}): {'met' if self.met else 'MISSED'}"


def check_bars(
    report: EvalReport,
    *,
    min_top1: float | None = None,
    max_wrong: float | None = None,
    max_false_answers: float | None = None,
) -> list[Bar]:
    """The bars that were set, each against the report's number."""
    wanted = [
        ("top1", report.top1, min_top1, True),
        ("wrong_answer", report.wrong_answer, max_wrong, False),
        ("oos_false_answer", report.oos_false_answer, max_false_answers, False),
    ]
    return [Bar(name, value, limit, at_least) for name, value, limit, at_least in wanted if limit is not None]
