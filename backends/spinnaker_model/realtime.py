"""What a graph run on the model says about a board run: per layer the fixed-point facts, per core the load.

Synaptic events: a spike arriving at a core costs one event per synapse of its row on that core. Cores are each
cell population cut into chunks of ``graph.CELLS_PER_CORE`` cells, as the sPyNNaker backend places them; the
events of a spike are counted in the step it is sent. A core must process a step's events within the wall-clock
time of the step, ``timestep_ms * time_scale_factor``; the smallest factor for which the busiest core of the
busiest step stays within ``SYNAPTIC_EVENTS_PER_MS_PER_CORE`` is the one the board run needs.
"""
from __future__ import annotations

import math

import numpy as np

from hippocam.backends.spinnaker import chip

#: synaptic events one core processes per ms of wall-clock time. Rhodes et al. 2018, "sPyNNaker: a software
#: package for running PyNN simulations on SpiNNaker" (Front. Neurosci. 12:816): measured performance is within a
#: factor of 2 of the design target of 10,000 events per ms; we take the lower end of that
SYNAPTIC_EVENTS_PER_MS_PER_CORE = 5000


def time_scale_factor(events_per_step: int, timestep_ms: float,
                      budget_per_ms: float = SYNAPTIC_EVENTS_PER_MS_PER_CORE) -> int:
    """The smallest whole slow-down (>= 1) at which ``events_per_step`` events fit a step of ``timestep_ms``."""
    return max(1, math.ceil(events_per_step / (budget_per_ms * timestep_ms)))


def load(model) -> dict:
    """The synaptic load of a ``graph.GraphModel``'s run so far: per population cores, busiest core in its
    busiest step, mean per core and step; for the whole graph the busiest core per step (largest, mean over
    steps) and the ``time_scale_factor`` it needs."""
    st, dt = model.stats, model.timestep_ms
    steps = max(st.steps, 1)
    per_pop = {name: {"cores": st.cores[name], "max_events_per_core_step": st.events_max[name],
                      "mean_events_per_core_step": st.events_sum[name] / (steps * st.cores[name])}
               for name in st.cores}
    worst = int(st.busiest.max(initial=0))
    return {"budget_events_per_ms_per_core": SYNAPTIC_EVENTS_PER_MS_PER_CORE, "steps": st.steps,
            "max_events_per_core_step": worst,
            "mean_busiest_core_events_per_step": float(st.busiest.mean()) if len(st.busiest) else 0.0,
            "time_scale_factor": time_scale_factor(worst, dt), "populations": per_pop}


def quantisation(model) -> dict:
    """Per cell population, in graph mV: the weight step per receptor, the membrane's resolution, the largest
    summed input a step may bring (the plan's bound, every source spiking), what sPyNNaker is told to expect (its
    ``max_expected_summed_weight``, from which it picks the shift) and the largest sum seen in the run; weights lost
    (rounded to 0) or clipped (beyond 16 bits); ring-buffer entries that saturated in the run."""
    out = {}
    for c in model.plan.cells:
        syns = [s for s in model.plan.synapses if s.post_pop == c.name]
        step = [2.0 ** (sh - 15) / c.scale for sh in c.shifts]
        wn = np.concatenate([s.weight_nA for s in syns] + [np.zeros(0)])
        wi = np.concatenate([s.weight_int for s in syns] + [np.zeros(0, np.int64)])
        shift = np.concatenate([np.full(len(s.weight_nA), c.shifts[s.receptor != "excitatory"]) for s in syns]
                               + [np.zeros(0, np.int64)])
        held = np.minimum(wi, 0xFFFF) * 2.0 ** (shift - 15)
        err = np.abs(held - wn) / c.scale
        seen = model.stats.largest_sum[c.name]
        out[c.name] = {"scale": c.scale, "shifts": list(c.shifts),
                       "weight_step_mV": step, "membrane_step_mV": 2.0 ** -15 / c.scale,
                       "max_summed_input_mV": [b / c.scale for b in c.bound_nA],
                       "max_expected_summed_mV": [b / c.scale for b in c.max_summed_nA],
                       "largest_summed_input_mV": [seen[r] * 2.0 ** (c.shifts[r] - 15) / c.scale for r in (0, 1)],
                       "weights": int(len(wn)), "weights_lost": int(np.sum((wi == 0) & (wn > 0))),
                       "weights_clipped": int(np.sum(wi > 0xFFFF)),
                       "max_weight_error_mV": float(err.max(initial=0.0)),
                       "ring_saturations": int(model.stats.saturations[c.name])}
    return out


def report(model) -> dict:
    """The run's facts: ``quantisation`` (above), ``realtime`` (``load``), how the slots ran, and the chip plan as
    ``chip.describe`` gives it (its choices and what the 16-bit weights cost before any run)."""
    return {"quantisation": quantisation(model), "realtime": load(model), "slots_run": dict(model.slots_run),
            "plan": chip.describe(model.plan)}


def summary(report_: dict, timestep_ms: float = 1.0) -> str:
    """The report as lines for a person: one per layer, then the load."""
    lines = ["  SpiNNaker arithmetic per layer (graph mV): weight step exc/inh, largest summed input exc/inh "
             "(bound), lost / clipped weights, ring-buffer saturations"]
    for name, q in report_["quantisation"].items():
        lines.append(f"    {name}: step {q['weight_step_mV'][0]:.3g}/{q['weight_step_mV'][1]:.3g}, summed "
                     f"{q['largest_summed_input_mV'][0]:.4g}/{q['largest_summed_input_mV'][1]:.4g} "
                     f"({q['max_summed_input_mV'][0]:.4g}/{q['max_summed_input_mV'][1]:.4g}), lost "
                     f"{q['weights_lost']}/{q['weights']}, clipped {q['weights_clipped']}, saturations "
                     f"{q['ring_saturations']}")
    r = report_["realtime"]
    lines.append(f"  real time: busiest core {r['max_events_per_core_step']:,} synaptic events in a step (mean over "
                 f"steps {r['mean_busiest_core_events_per_step']:,.0f}); at {r['budget_events_per_ms_per_core']:,} "
                 f"events per ms per core a board run needs time_scale_factor {r['time_scale_factor']} "
                 f"(dt {timestep_ms:g} ms)")
    return "\n".join(lines)
