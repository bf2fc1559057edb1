"""Small pieces shared by experiments: progress lines, error classification, markdown tables, the check."""
from __future__ import annotations

import numbers
import time
from collections import Counter

from hippocam import backends


def progress(log, label: str, unit: str = "operations"):
    """A ``progress(done, total)`` callback that logs at most every 2 s of wall time."""
    state = {"t": time.perf_counter(), "start": time.perf_counter()}

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - state["t"] >= 2.0:
            state["t"] = now
            log(f"  {label}: {done}/{total} {unit} ({now - state['start']:.0f} s)")
    return report


def error_kinds(results) -> Counter:
    """How wrong answers are wrong: extra or missing cues or content bits, per operation kind."""
    kinds: Counter = Counter()
    for r in results:
        if r.agrees:
            continue
        if r.answer.cues - r.expected.cues:
            kinds[f"{r.op.op}: extra cue"] += 1
        if r.expected.cues - r.answer.cues:
            kinds[f"{r.op.op}: missing cue"] += 1
        if r.answer.content - r.expected.content:
            kinds[f"{r.op.op}: extra bit"] += 1
        if r.expected.content - r.answer.content:
            kinds[f"{r.op.op}: missing bit"] += 1
    return kinds


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def accuracy(results) -> float:
    return sum(r.agrees for r in results) / max(1, len(results))


def gate_failure(result: dict) -> str | None:
    """Why ``result`` fails ``--check``, or None when every checked operation agreed with the oracle.

    Every experiment's result carries ``agreed`` / ``total`` over the operations it expects to be right
    (and ``crashed``, the parts that never ran, already counted as misses). A result without the counts,
    or one that checked nothing, fails: a gate that cannot fail is no gate.
    """
    agreed, total = result.get("agreed"), result.get("total")
    if not isinstance(agreed, numbers.Integral) or not isinstance(total, numbers.Integral):  # numpy ints too
        return f"the {result.get('experiment', 'run')} result carries no agreed/total count to check"
    if total == 0:
        return "no operation was checked"
    crashed = result.get("crashed") or []
    if agreed == total and not crashed:
        return None
    text = f"{agreed}/{total} checked operations agree with the oracle"
    return text + (f"; crashed: {', '.join(crashed)}" if crashed else "")


def runnable(name: str) -> None:
    """BackendError, before any file or folder is touched, when backend ``name`` cannot run a network here: not
    installed, or SpiNNaker with no board configured (it would only map, decode nothing and look like a failure)."""
    backends.require(name)
    problem = backends.no_board(name)
    if problem:
        raise backends.BackendError(problem)
