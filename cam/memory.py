"""A live content-addressable memory on a backend: the user-facing API.

    mem = Memory(5, 10)                      # Brian2, profile "brian2"
    mem.learn(0, {0, 1, 8, 9})               # -> Answer(cues={0}, content={0, 1, 8, 9})
    mem.recall_content({8})                  # -> Answer(cues={0}, content={8})
    results = mem.run(ops)                   # many operations in one simulation

Every call is checked against the dictionary oracle as it goes (``OpResult.agrees``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from hippocam import backends

from . import decoder, network, scheduler
from .faults import Faults
from .operations import Operation, check_sizes, learn, recall_content, recall_cue, validate
from .oracle import Answer, Oracle
from .profile import Profile, load


@dataclass(frozen=True)
class OpResult:
    op: Operation
    at_ms: float
    answer: Answer
    expected: Answer

    @property
    def agrees(self) -> bool:
        return self.answer == self.expected

    def to_dict(self) -> dict:
        d = {"op": self.op.op, "at_ms": self.at_ms}
        if self.op.cue is not None:
            d["cue"] = self.op.cue
        if self.op.op != "recall_cue":
            d["input_content"] = sorted(self.op.content)
        d.update(self.answer.to_dict())
        d["expected"] = self.expected.to_dict()
        d["agrees"] = self.agrees
        return d


class Memory:
    """A CA3 CAM of ``cue_size`` one-hot cues x ``content_size`` content bits on a backend."""

    def __init__(self, cue_size: int, content_size: int, backend: str = backends.DEFAULT,
                 profile: str | Profile | None = None, record: str = "all",
                 faults: Faults | None = None):
        """``record``: "all" populations or just "output"; ``faults``: injected damage (robustness)."""
        self.cue_size, self.content_size = check_sizes(cue_size, content_size)
        self.backend_name = backend
        self.backend = backends.get(backend)
        self.profile = profile if isinstance(profile, Profile) else load(profile or backends.info(backend).default_profile)
        self.faults = faults
        self.spec = network.build_spec(cue_size, content_size, self.profile)
        if faults is not None:
            self.spec = faults.damage(self.spec)
        t0 = time.perf_counter()
        self.backend.build(self.spec, record=record)
        self.build_seconds = time.perf_counter() - t0
        self.oracle = Oracle()
        self.history: list[OpResult] = []
        self._inputs: list[tuple[int, float]] = []
        self.sim_seconds = 0.0

    # -- one operation at a time --------------------------------------------------------
    def learn(self, cue: int, content: Iterable[int], at_ms: float | None = None) -> Answer:
        return self.run([learn(cue, content, at_ms)])[0].answer

    def recall_cue(self, cue: int, at_ms: float | None = None) -> Answer:
        return self.run([recall_cue(cue, at_ms)])[0].answer

    def recall_content(self, fragment: Iterable[int], at_ms: float | None = None) -> Answer:
        return self.run([recall_content(fragment, at_ms)])[0].answer

    # -- many operations in one simulation ----------------------------------------------
    def run(self, ops: Sequence[Operation], progress: Callable[[int, int], None] | None = None) -> list[OpResult]:
        """Schedule, simulate and decode ``ops`` after everything this memory has done so far.

        ``progress(done, total)`` is called as the simulation passes the operations (about ten times).
        """
        ops = [validate(op, self.cue_size, self.content_size, f"operation {i}") for i, op in enumerate(ops)]
        if not ops:
            return []
        last = self.history[-1] if self.history else None
        sched = scheduler.schedule(ops, self.cue_size, self.profile,
                                   after=last.op if last else None, after_ms=last.at_ms if last else None,
                                   not_before_ms=self.backend.next_input_ms())
        spikes = sched.spikes if self.faults is None else self.faults.disturb(
            sched.spikes, self.profile.timestep_ms, self.backend.next_input_ms())
        inputs = self._inputs + list(spikes)
        self.backend.set_inputs(scheduler.spike_trains(inputs, self.cue_size + self.content_size))
        self._inputs = inputs  # only once the backend has taken them
        t0 = time.perf_counter()
        dt = self.profile.timestep_ms
        end = math.ceil(sched.end_ms / dt - 1e-9) * dt
        if progress is not None and len(ops) >= 20:
            for i in range(len(ops) // 10, len(ops), len(ops) // 10):
                self.backend.run_until(sched.times_ms[i])
                progress(i, len(ops))
        self.backend.run_until(end)
        if progress is not None:
            progress(len(ops), len(ops))
        self.sim_seconds += time.perf_counter() - t0
        answers = decoder.decode(ops, sched.times_ms, self.backend.spikes("OUT"), self.cue_size,
                                 self.profile.windows)
        results = [OpResult(op, t, a, self.oracle.apply(op))
                   for op, t, a in zip(ops, sched.times_ms, answers)]
        self.history.extend(results)
        return results

    @property
    def now_ms(self) -> float:
        return self.backend.t_ms

    def spikes(self, population: str = "OUT"):
        """Spike times (ms) per neuron of a population: IN (as sent), CueCue, ..., OUT."""
        if population == "IN":
            return scheduler.spike_trains(self._inputs, self.cue_size + self.content_size)
        return self.backend.spikes(population)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
