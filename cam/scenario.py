"""Scenario files: JSON in, JSON out (the shape used by ``hippocam cam run``)."""
from __future__ import annotations

import json
from pathlib import Path

from .memory import Memory, OpResult
from hippocam import files
from hippocam.errors import InputError
from .operations import Operation, check_sizes, from_dict, to_dict


def parse(data) -> tuple[int, int, list[Operation]]:
    """Validate a scenario object; raise InputError naming the problem and where it is."""
    if not isinstance(data, dict):
        raise InputError("a scenario must be a JSON object with cue_size, content_size and operations")
    for key in ("cue_size", "content_size", "operations"):
        if key not in data:
            raise InputError(f"the scenario lacks \"{key}\"")
    extra = sorted(set(data) - {"cue_size", "content_size", "operations", "description"})
    if extra:
        raise InputError(f"unknown scenario keys: {', '.join(extra)}")
    c, k = check_sizes(data["cue_size"], data["content_size"])
    items = data["operations"]
    if not isinstance(items, list):
        raise InputError("\"operations\" must be a list of operation objects")
    return c, k, [from_dict(item, c, k, f"operation {i}") for i, item in enumerate(items)]


def load(path: str | Path) -> tuple[int, int, list[Operation]]:
    path = Path(path)
    text = files.read_text(path, "scenario file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    return parse(data)


def dump(cue_size: int, content_size: int, ops: list[Operation]) -> dict:
    return {"cue_size": cue_size, "content_size": content_size, "operations": [to_dict(o) for o in ops]}


def result_dict(mem: Memory, results: list[OpResult], **extra) -> dict:
    ops = []
    for r in results:
        ops.append({"op": r.op.op, "at_ms": r.at_ms, **r.answer.to_dict(),
                    "expected": r.expected.to_dict(), "agrees": r.agrees,
                    "input": to_dict(r.op)})
    return {"backend": mem.backend_name, "profile": mem.profile.name, "cue_size": mem.cue_size,
            "content_size": mem.content_size, "operations": ops,
            "agreed": sum(r.agrees for r in results), "total": len(results), **extra}


def table(results: list[OpResult]) -> str:
    """A short text table: time, operation, expected, decoded, agreement."""
    def fmt(a):
        return f"cues {sorted(a.cues)} content {sorted(a.content)}"
    rows = [f"{'t (ms)':>8}  {'operation':<28} {'expected':<40} {'decoded':<40} ok"]
    for r in results:
        rows.append(f"{r.at_ms:>8g}  {r.op.describe():<28} {fmt(r.expected):<40} {fmt(r.answer):<40} "
                    f"{'yes' if r.agrees else 'NO'}")
    agreed = sum(r.agrees for r in results)
    rows.append(f"{agreed}/{len(results)} operations agree with the oracle")
    return "\n".join(rows)
