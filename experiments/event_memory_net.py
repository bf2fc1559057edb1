"""The event-to-memory pipeline: a converted classifier and the CA3 memory in one spiking network.

A stream of event samples (one per slot of ``LinkLayout.slot_steps`` steps) runs through the classifier
(``pynn_net.to_graph``); a spiking decision circuit turns its read-out into one spike train per class, and the
memory (``cam.network``, built beside it by the same backend) learns, for slot s, the cue s with the decided class
as its content bit. Afterwards "when did gesture X happen" is RECALL_BY_CONTENT({X}) and "what happened in slot s"
RECALL_BY_CUE(s); both are checked against the dictionary oracle (docs/cam_spec.md §1) on the classifier's decisions
and on the true labels. All cells of the added circuit are ``IF_curr_delta`` (mV, ms):

* **race** (the argmax in spikes): after the classifier's window a ramp source adds ``Ramp.step_mV`` per step to
  every read-out cell (threshold ``Ramp.threshold_mV``), so the one with the largest membrane fires first; its
  spike inhibits the others one hop later, just enough that the rest of the ramp cannot make them fire
  (``blocks_mV``). Read-outs within one ramp step of each other fire together (a tie:
  both classes are stored, and reported); none fires if every membrane is below the ramp's reach (undecided).
* **latch** (``decision``): a read-out spike starts its class cell, which then re-excites itself every hop until a
  clear source stops it after the learn (an inhibition that outweighs the re-excitations still in flight).
* **IN**: the memory's input population, made of coincidence cells (they forget all but 6 % in a step) instead of
  spike sources: cue cells fire with the ``query`` sources, a content cell fires when the clock source and its
  latched class arrive together, in the steps of the memory's LEARN hold.

``Backend.delta_to_input_lag_steps`` absorbs how a backend's graph cells reach the memory's cells compared with
the spike sources the memory's profile was made for.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from hippocam import backends
from hippocam.backends.graph import DeltaCells, Sources, Synapses
from hippocam.cam import decoder, network, scheduler
from hippocam.errors import InputError
from hippocam.cam.operations import learn, recall_content, recall_cue
from hippocam.cam.oracle import expected_answers
from hippocam.cam.profile import load as load_profile

from hippocam.event_models import pynn as pynn_net
from hippocam.event_models.pynn import close
from hippocam.event_models.snn.net import Net

LATCH_MV = 2.0        # a latch or relay input alone: fires a threshold-1 cell
HALF_MV = 0.6         # one of two coincident inputs
#: the IN cells' tau_m in steps: the membrane keeps exp(-1/0.35) = 5.7 % per step, so one input (HALF_MV) in every
#: step stays below the threshold (HALF_MV / (1 - 0.057) = 0.64 mV < 1 mV) while two in one step fire. A core at
#: 1 ms steps holds it (``spinnaker.chip.leaky_constants``: tau_m 0.350006 ms, exp_TC 0.057434, a jump 1.00001 times
#: the weight); for a much faster leak such as dt/50 the chip plan finds no s16.15 tau_m
IN_TAU_STEPS = 0.35
RAMP, CLOCK, CLEAR = 0, 1, 2   # the sources of population "control" (one population: pyNN.brian2 needs two or more)


@dataclass(frozen=True)
class Ramp:
    """The race: read-out threshold (mV), ramp step (mV per step) and length (steps)."""
    threshold_mV: float
    step_mV: float
    steps: int

    @property
    def reach_mV(self) -> float:
        """The lowest read-out membrane that still fires within the ramp."""
        return self.threshold_mV - self.steps * self.step_mV


def ramp_for(logits: np.ndarray, steps: int = 64) -> Ramp:
    """A ramp over the read-out values (B, classes) of training samples: the threshold 10 % of their spread above
    the largest, the reach as far below the lowest winning value; ties need winners closer than one step."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 4 <= steps <= 4096:
        raise InputError(f"ramp steps must be an integer in 4..4096, got {steps!r}")
    top = np.max(np.asarray(logits, float), axis=1)
    spread = max(float(top.max() - top.min()), 1e-3)
    hi, lo = float(top.max()) + 0.1 * spread, float(top.min()) - 0.1 * spread
    return Ramp(hi, (hi - lo) / steps, int(steps))


@dataclass(frozen=True)
class LinkLayout:
    """Steps within a slot: the ramp's first arrival, the first and last step the IN cells fire for the learn, the
    slot length; ``learn_offset_ms``: the LEARN's T (ms after the slot's start, on the memory's grid)."""
    ramp_first: int
    relay_first: int
    relay_last: int
    slot_steps: int
    learn_offset_ms: float


def link_layout(settled_step: int, hop: int, ramp_steps: int, hold_steps: int, dt: float, lag: int,
                grid_ms: float) -> LinkLayout:
    """Where the race, the latch and the learn sit in a slot (pure; all in steps of ``dt`` ms)."""
    ramp_first = settled_step                        # the ramp arrives once the read-out has all its input
    latched = ramp_first + ramp_steps - 1 + hop      # the last race step's winner has latched by then
    grid = max(grid_ms, dt)
    t_learn = math.ceil((latched + hop + lag) * dt / grid - 1e-9) * grid
    relay_first = int(round(t_learn / dt)) - lag
    relay_last = relay_first + hold_steps - 1
    clear_arrives = relay_last - hop + 1
    slot = math.ceil((clear_arrives + hop + 1) * dt / grid - 1e-9) * grid
    return LinkLayout(ramp_first, relay_first, relay_last, int(round(slot / dt)), t_learn)


def blocks_mV(readout: DeltaCells, decision: DeltaCells, ramp: Ramp, hop: int, steps: int,
              dt_ms: float) -> tuple[float, float]:
    """The inhibitions (mV) that silence a race's loser and a cleared latch for the ``steps`` steps left of its
    slot (the slot's reset ends them), the smallest that provably do (``pynn.close``): a loser holds less than the
    threshold when the block arrives and the ramp still adds at most ``ramp.steps`` steps of ``ramp.step_mV``; a
    latch holds less than its threshold and its own re-excitations still in flight add at most ``LATCH_MV`` in
    each of the next ``hop`` steps. InputError where a SpiNNaker core could not hold it (``close.MAX_CLOSE_MV``)."""
    def below_threshold(cells: DeltaCells, name: str) -> close.Dynamics:
        return close.Dynamics(name, theta_cell=cells.v_thresh_mV, theta=cells.v_thresh_mV, reset="value",
                              v_reset=cells.v_reset_mV, v_init=cells.v_thresh_mV,
                              v_decay=float(np.exp(-dt_ms / cells.tau_m_ms)), v_leak=cells.v_rest_mV)
    race = close.closing_mV(below_threshold(readout, "race"),
                            close.Drive(np.zeros(1), (np.full(1, ramp.step_mV),) * ramp.steps), 0, steps,
                            leaks_before=False)
    latch = close.closing_mV(below_threshold(decision, "latch"),
                             close.Drive(np.zeros(1), (np.full(1, LATCH_MV),) * hop), 0, steps, leaks_before=False)
    return race, latch


def link_graph(graph, readout: str, classes: int, cues: int, ramp: Ramp, hop: int, slot_steps: int):
    """``graph`` (a classifier's) with the race, latch and IN cells of a memory of ``cues`` x ``classes``; its
    blocks hold for ``slot_steps`` steps (a slot, and the steps a backend resets late)."""
    dt = graph.timestep_ms
    lat = hop * dt
    k, n_in = classes, cues + classes
    pops = [dataclasses.replace(p, v_thresh_mV=ramp.threshold_mV, v_reset_mV=0.0, record_spikes=True)
            if p.name == readout else p for p in graph.populations]
    decision = DeltaCells("decision", k, v_thresh_mV=1.0)
    pops += [Sources("control", 3), Sources("query", n_in),        # control: RAMP, CLOCK, CLEAR
             decision, DeltaCells("IN", n_in, v_thresh_mV=1.0, tau_m_ms=IN_TAU_STEPS * dt)]
    (race_cells,) = [p for p in pops if p.name == readout]
    race_block, clear_block = blocks_mV(race_cells, decision, ramp, hop, slot_steps, dt)
    ck = np.arange(k)
    ii, jj = np.meshgrid(ck, ck, indexing="ij")
    others = ii != jj

    def syn(name, pre_pop, post_pop, pre, post, w):
        pre, post = np.asarray(pre), np.asarray(post)
        return Synapses(name, pre_pop, post_pop, pre, post, np.full(len(pre), float(w)), lat)

    zeros = np.zeros(k, int)
    projs = list(graph.projections) + [
        syn("race.ramp", "control", readout, zeros + RAMP, ck, ramp.step_mV),
        syn("race.inhibit", readout, readout, ii[others], jj[others], race_block),
        syn("latch.set", readout, "decision", ck, ck, LATCH_MV),
        syn("latch.hold", "decision", "decision", ck, ck, LATCH_MV),
        syn("latch.clear", "control", "decision", zeros + CLEAR, ck, clear_block),
        syn("in.content", "decision", "IN", ck, cues + ck, HALF_MV),
        syn("in.clock", "control", "IN", zeros + CLOCK, cues + ck, HALF_MV),
        syn("in.query", "query", "IN", np.arange(n_in), np.arange(n_in), LATCH_MV),
    ]
    return dataclasses.replace(graph, populations=tuple(pops), projections=tuple(projs))


@dataclass(frozen=True)
class LinkResult:
    """Per sample: labels, decisions (frozensets of classes; empty = undecided), reference (refsim argmax);
    ops and their decoded answers; the oracle's answers on the decisions and on the labels."""
    labels: np.ndarray
    decisions: list
    reference: np.ndarray
    ops: list
    times_ms: list
    answers: list
    on_decisions: list
    on_labels: list
    slot_ms: float
    cues: int
    build_s: float
    run_s: float
    n_neurons: int
    n_synapses: int


MAX_CUES = 256


def check_cues(cues) -> int:
    """``cues`` if it is a usable number of time slots, else InputError."""
    if isinstance(cues, bool) or not isinstance(cues, (int, np.integer)) or not 1 <= cues <= MAX_CUES:
        raise InputError(f"cues (time slots) must be an integer in 1..{MAX_CUES}, got {cues!r}")
    return int(cues)


def run(net: Net, counts: np.ndarray, labels: np.ndarray, backend: str = backends.DEFAULT, cues: int | None = None,
        steps: int = 8, v_reset: float = 0.5, ramp_steps: int = 64, ramp: Ramp | None = None,
        train_counts: np.ndarray | None = None, progress=None) -> LinkResult:
    """Stream ``counts`` (B, *input_shape) through ``net`` on ``backend`` into a memory of ``cues`` slots (sample i
    is learned under cue i mod cues: later samples overwrite, i.e. forget, earlier ones), then ask every slot
    (RECALL_BY_CUE) and every class (RECALL_BY_CONTENT). ``net`` is taken as it is (calibrate it first with
    ``pynn_net.calibrated_for_reset_to_value``); the ramp comes from ``train_counts`` unless given."""
    import time

    from hippocam.event_models.snn import refsim
    counts, labels = np.asarray(counts), np.asarray(labels)
    n = len(counts)
    if n == 0 or len(labels) != n:
        raise InputError(f"give one label per sample: {n} samples, {len(labels)} labels")
    if net.layers[-1].spiking:
        raise InputError(f"{net.name}: its output layer spikes; the decision race needs a read-out that integrates")
    if any(layer.neuron is not None and layer.neuron.i_decay is not None for layer in net.layers):
        raise InputError(f"{net.name}: layers with a synaptic current (CubaLIF) are not wired to the memory yet; "
                         "use a net of IF or LIF layers")
    classes = int(np.prod(net.layers[-1].shape))
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= classes:
        raise InputError(f"labels must be class numbers 0..{classes - 1} (the read-out's size), got "
                         f"{labels.dtype} values {labels.min()!r}..{labels.max()!r}")
    cues = check_cues(n if cues is None else cues)
    sim = pynn_net.streaming_backend(backend)
    sim_params = refsim.SimParams(steps=steps, reset="value", v_reset=v_reset)
    reference = refsim.simulate(net, counts, sim_params).predictions
    if ramp is None:
        if train_counts is None:
            raise InputError("give the ramp or training inputs to derive it from (train_counts)")
        ramp = ramp_for(refsim.simulate(net, train_counts, sim_params).logits, ramp_steps)

    t0 = time.perf_counter()
    profile = load_profile(backends.info(backend).default_profile)
    dt = profile.timestep_ms
    params = pynn_net.RunParams(steps=steps, v_reset=v_reset, timestep_ms=dt)
    graph, layout = pynn_net.to_graph(net, params, sim.graph_timing(dt))
    hop, lag = layout.hop_steps, sim.delta_to_input_lag_steps
    link = link_layout(layout.settled_steps, hop, ramp.steps, profile.learn_hold_steps, dt, lag,
                       profile.hints.operation_grid_ms)
    layout = dataclasses.replace(layout, slot_steps=link.slot_steps)
    slot_ms = link.slot_steps * dt
    readout = f"L{len(net.layers) - 1}"
    # the blocks hold until the slot's reset, as late as the backend reads (it runs ahead)
    graph = link_graph(graph, readout, classes, cues, ramp, hop, link.slot_steps + sim.graph_timing(dt).read_lag_steps)
    spec = network.build_spec(cues, classes, profile)
    sim.build(spec, record="output", graph=graph)
    pynn_net.stream_samples(sim, net, counts, params, graph, layout)

    # the memory's operations: a LEARN per slot (its content comes from the latch), then the questions
    ops = [learn(i % cues, (), at_ms=i * slot_ms + link.learn_offset_ms) for i in range(n)]
    ops += [recall_cue(q) for q in range(min(n, cues))] + [recall_content({x}) for x in range(classes)]
    sched = scheduler.schedule(ops, cues, profile)
    lead = (lag + hop) * dt                           # a source spike makes its IN cell fire hop steps later
    query = [[] for _ in range(cues + classes)]
    clock = []
    for neuron, t in sched.spikes:
        query[neuron].append(t - lead)
    for op, t in zip(ops[:n], sched.times_ms[:n]):
        clock += [t + s * dt - lead for s in range(profile.learn_hold_steps)]
    slot0 = np.arange(n) * link.slot_steps
    sim.set_spike_times("query", [np.asarray(q) for q in query])
    control = [None] * 3
    control[RAMP] = ((slot0[:, None] + link.ramp_first - hop + np.arange(ramp.steps)) * dt).ravel()
    control[CLOCK] = np.asarray(clock)
    control[CLEAR] = (slot0 + link.relay_last - 2 * hop + 1) * dt
    sim.set_spike_times("control", control)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    reset = dict(pynn_net.initial_membranes(net, params), decision=0.0)
    sim.run_slots(slot_ms, n, reset, readout, progress)
    sim.run_until(math.ceil(sched.end_ms / dt - 1e-9) * dt)
    run_s = time.perf_counter() - t0
    decided = sim.spikes("decision")
    decisions = [frozenset(c for c in range(classes)
                           if np.any((decided[c] >= i * slot_ms) & (decided[c] < (i + 1) * slot_ms)))
                 for i in range(n)]
    answers = decoder.decode(ops, sched.times_ms, sim.spikes("OUT"), cues, profile.windows)
    n_neurons, n_synapses = graph.n_neurons + spec.n_neurons, graph.n_synapses + spec.n_synapses
    sim.close()
    with_content = [dataclasses.replace(op, content=frozenset(d)) for op, d in zip(ops, decisions)] + ops[n:]
    with_labels = [dataclasses.replace(op, content=frozenset({int(y)})) for op, y in zip(ops, labels)] + ops[n:]
    return LinkResult(labels, decisions, reference, with_content, list(sched.times_ms), answers,
                      expected_answers(with_content), expected_answers(with_labels), slot_ms, cues,
                      build_s, run_s, n_neurons, n_synapses)


def score(r: LinkResult) -> dict:
    """What the pipeline got right: the memory against the oracle on the decisions (every operation), and the
    answers against the labels wherever the classifier was right (the slot still held, its decision the label)."""
    n = len(r.labels)
    held = {}                                      # cue -> the sample it holds at the end
    for i in range(n):
        held[i % r.cues] = i
    right = {q for q, i in held.items() if r.decisions[i] == frozenset({int(r.labels[i])})}
    memory_ok = [a == e for a, e in zip(r.answers, r.on_decisions)]
    where_right, end_to_end = [], []
    for op, a, truth in zip(r.ops[n:], r.answers[n:], r.on_labels[n:]):
        if op.op == "recall_cue":
            if op.cue in right:
                where_right.append(a == truth)
        else:
            where_right.append(a.cues & right == truth.cues & right)
        end_to_end.append(a == truth)
    decided = [d for d in r.decisions if len(d) == 1]
    return {"samples": n, "cues": r.cues,
            "classifier_accuracy": float(np.mean([d == frozenset({int(y)}) for d, y in zip(r.decisions, r.labels)])),
            "reference_accuracy": float(np.mean(r.reference == r.labels)),
            "decision_agrees_with_reference": float(np.mean([d == frozenset({int(p)})
                                                             for d, p in zip(r.decisions, r.reference)])),
            "ties": sum(len(d) > 1 for d in r.decisions), "undecided": sum(len(d) == 0 for d in r.decisions),
            "single_decisions": len(decided),
            "memory_agrees_with_oracle": int(sum(memory_ok)), "memory_operations": len(memory_ok),
            "queries_right_where_classifier_right": int(sum(where_right)),
            "queries_checked_where_classifier_right": len(where_right),
            "queries_right_on_labels": int(sum(end_to_end)), "queries": len(end_to_end),
            "slots_classified_right": len(right)}
