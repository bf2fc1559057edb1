"""A step-exact numpy model of what SpiNNaker computes for a network spec (docs/spinnaker_arithmetic.md); not a board.

Discrete time at the profile's timestep (1 ms). Per step ``n``:

1. every spike emitted at step ``n - d`` over a hop latency ``d`` (steps) arrives: its weight (nA,
   inhibitory ones subtract) is added to the target's synaptic current, scaled by
   ``(tau_syn/dt)(1 - exp(-dt/tau_syn))`` (SpiNNaker's input scaling);
2. a refractory neuron counts down and keeps V (that step's input is lost); any other neuron
   integrates V exactly over the step with the current held constant;
3. V >= v_thresh spikes: V = v_reset, refractory for ``round(tau_refrac/dt)`` steps;
4. the currents decay by ``exp(-dt/tau_syn)``;
5. plastic synapses run sPyNNaker's spike-pair STDP (see ``_Plastic``), then every spike of step
   ``n`` is sent, with the weight its synapse holds after that update.

Hop latency is exactly the spec's latency: no backend-specific translation. Weights are magnitudes
(nA). The populations, their sizes and cells are the spec's own: the spike source is the population without
cell parameters named IN (``set_inputs``), and ``record="output"`` keeps IN and OUT.
``cam.hardware.replay_recording`` checks the model against the original authors' hardware recordings.
"""
from __future__ import annotations

import math

import numpy as np

from hippocam.errors import BackendError

class _Plastic:
    """One plastic projection: additive spike-pair STDP as sPyNNaker runs it (docs/spinnaker_arithmetic.md).

    The whole latency ``d`` is dendritic: a post spike at step ``t`` is seen at ``s = t + d``.
    Each seen post spike belongs to the first pre spike ``p >= s`` and is applied only when that
    pre spike happens (deferred): potentiation ``step_plus * x_pre(p_last) * exp(-(s - p_last)/tau_plus)``
    against the previous pre spike ``p_last < s``; then, at ``p``, depression
    ``step_minus * y_post(s_last) * exp(-(p - s_last)/tau_minus)`` from the latest seen post spike
    ``s_last <= p`` (``s_last == p``, a post spike one step before the pre spike, depresses fully).
    Traces ``x``, ``y`` accumulate over all spikes (all-to-all); the weight is clipped to
    [w_min, w_max] after each term (potentiation terms, being positive, are summed first: the same).
    Times here are in steps.
    """

    def __init__(self, proj, dt: float, pre_index: np.ndarray, post_index: np.ndarray):
        s = proj.stdp
        self.name = proj.name
        self.n_pre, self.n_post = len(pre_index), len(post_index)
        self.pre_index, self.post_index = pre_index, post_index  # global ids of pre / post neurons
        self.d = int(round(proj.latency_ms / dt))
        self.tau_plus, self.tau_minus = s.tau_plus_ms / dt, s.tau_minus_ms / dt
        self.a_plus, self.a_minus = s.step_plus_nA, s.step_minus_nA
        self.w_min, self.w_max = s.w_min_nA, s.w_max_nA
        self.mask = np.zeros((self.n_pre, self.n_post), dtype=bool)
        self.mask[proj.pairs[:, 0], proj.pairs[:, 1]] = True
        self.w = np.where(self.mask, proj.weight_nA, 0.0)
        self.pending = np.zeros((self.n_pre, self.n_post))  # potentiation waiting for the next pre spike
        self.pre_last = np.full(self.n_pre, -1)  # step of the last pre spike, -1: none yet
        self.pre_trace = np.zeros(self.n_pre)  # x just after that spike
        self.post_last = np.full(self.n_post, -1)  # shifted step of the last seen post spike
        self.post_trace = np.zeros(self.n_post)  # y just after it
        self.post_queue: list[tuple[int, np.ndarray]] = []  # (step seen, post indices) not yet seen

    def post_spikes(self, n: int, post: np.ndarray) -> None:
        """Post neurons (local indices) fired at step ``n``: seen at ``n + d``."""
        if len(post):
            self.post_queue.append((n + self.d, post))

    def see_posts(self, n: int) -> None:
        """Register the post spikes seen at step ``n``, before the pre spikes of step ``n``."""
        while self.post_queue and self.post_queue[0][0] <= n:
            s, post = self.post_queue.pop(0)
            had = self.pre_last >= 0
            if had.any():
                gain = np.where(had, self.pre_trace * np.exp(-(s - self.pre_last) / self.tau_plus), 0.0)
                self.pending[:, post] += gain[:, None]
            y = np.where(self.post_last >= 0,
                         self.post_trace * np.exp(-(s - self.post_last) / self.tau_minus), 0.0)
            self.post_trace[post] = y[post] + 1.0
            self.post_last[post] = s

    def pre_spikes(self, n: int, pre: np.ndarray) -> np.ndarray:
        """Pre neurons (local indices) fire at step ``n``: update their rows; return them (pre x post)."""
        w = np.minimum(self.w[pre] + self.a_plus * self.pending[pre], self.w_max)
        self.pending[pre] = 0.0
        seen = self.post_last >= 0
        dep = np.where(seen, self.a_minus * self.post_trace * np.exp(-(n - self.post_last) / self.tau_minus), 0.0)
        w = np.maximum(w - dep[None, :], self.w_min)
        w = np.where(self.mask[pre], w, 0.0)
        self.w[pre] = w
        x = np.where(self.pre_last[pre] >= 0,
                     self.pre_trace[pre] * np.exp(-(n - self.pre_last[pre]) / self.tau_plus), 0.0)
        self.pre_trace[pre] = x + 1.0
        self.pre_last[pre] = n
        return w


class CamModel:
    """The SpiNNaker reference model of a CAM (``cam.network.NetworkSpec``) behind the backend interface."""

    name = "spinnaker-model"

    def __init__(self, timestep_ms: float | None = None):
        self.timestep_ms = timestep_ms
        self.t_ms = 0.0
        self.closed = True
        self.spec = None

    # -- building ----------------------------------------------------------------------------
    def build(self, spec, record: str = "all") -> None:
        """Build the network of ``spec`` (populations and projections, as ``cam.network.build_spec`` gives them);
        ``record``: "all" or "output"."""
        dt = self.timestep_ms = self.timestep_ms or spec.profile.timestep_ms
        self.spec, self.record = spec, record
        self.closed, self.t_ms, self.step = False, 0.0, 0
        # one id space: IN first (a spike source), then every neuron population in spec order
        self.offset, self.size = {}, {}
        n = 0
        for p in spec.populations:
            self.offset[p.name], self.size[p.name] = n, p.size
            n += p.size
        self.n_total = n

        def per_neuron(f, source=0.0):  # one value per id; spike sources get ``source``
            return np.concatenate([np.full(p.size, source if p.cell is None else float(f(p.cell)))
                                   for p in spec.populations])

        self.v_rest = per_neuron(lambda c: c["v_rest"])
        self.v_reset = per_neuron(lambda c: c["v_reset"])
        self.v_thresh = per_neuron(lambda c: c["v_thresh"])
        self.i_offset = per_neuron(lambda c: c.get("i_offset", 0.0))
        self.r_m = per_neuron(lambda c: c["tau_m"] / c["cm"])  # MOhm: mV per nA at equilibrium
        self.decay_m = per_neuron(lambda c: math.exp(-dt / c["tau_m"]))
        self.decay_e = per_neuron(lambda c: math.exp(-dt / c["tau_syn_E"]))
        self.decay_i = per_neuron(lambda c: math.exp(-dt / c["tau_syn_I"]))
        # SpiNNaker's input scaling: a weight w arrives as a current of scale * w (nA)
        self.scale_e = per_neuron(lambda c: c["tau_syn_E"] / dt * (1 - math.exp(-dt / c["tau_syn_E"])))
        self.scale_i = per_neuron(lambda c: c["tau_syn_I"] / dt * (1 - math.exp(-dt / c["tau_syn_I"])))
        self.refrac_steps = per_neuron(lambda c: round(c["tau_refrac"] / dt)).astype(np.int64)
        self.is_neuron = per_neuron(lambda c: 1.0) > 0
        self.v = per_neuron(lambda c: c.get("v", c["v_rest"]))  # initial v: v_rest, as the PyNN backends
        self.i_e = np.zeros(n)
        self.i_i = np.zeros(n)
        self.refrac = np.zeros(n, dtype=np.int64)

        # static synapses: one CSR table per latency over (source id -> target channel), where the
        # channel is the target id (excitatory) or n + target id (inhibitory)
        rows: dict[int, list] = {}
        self.plastic: dict[str, _Plastic] = {}
        for pr in spec.projections:
            d = int(round(pr.latency_ms / dt))
            if not math.isclose(d * dt, pr.latency_ms, abs_tol=1e-9) or d < 1:
                raise BackendError(f"spinnaker-model: latency {pr.latency_ms} ms of {pr.name} is not a "
                                   f"positive multiple of the {dt} ms timestep")
            pre_ids = self.offset[pr.pre] + np.arange(self.size[pr.pre])
            post_ids = self.offset[pr.post] + np.arange(self.size[pr.post])
            if pr.stdp is not None:
                if pr.receptor != "excitatory":
                    raise BackendError(f"spinnaker-model: plastic projection {pr.name} must be excitatory")
                self.plastic[pr.name] = _Plastic(pr, dt, pre_ids, post_ids)
                continue
            chan = post_ids[pr.pairs[:, 1]] + (n if pr.receptor == "inhibitory" else 0)
            rows.setdefault(d, []).append((pre_ids[pr.pairs[:, 0]], chan, np.full(len(chan), abs(pr.weight_nA))))
        self.tables = {}
        for d, parts in rows.items():
            src = np.concatenate([p[0] for p in parts])
            chan = np.concatenate([p[1] for p in parts])
            w = np.concatenate([p[2] for p in parts])
            order = np.argsort(src, kind="stable")
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.add.at(indptr, src + 1, 1)
            self.tables[d] = (np.cumsum(indptr), chan[order], w[order])
        self.max_d = max([d for d in self.tables] + [p.d for p in self.plastic.values()] + [1])
        self.ring = np.zeros((self.max_d + 1, 2 * n))  # arriving weight per step slot and channel
        self.inputs: dict[int, np.ndarray] = {}
        self.spike_log: list[tuple[int, np.ndarray]] = []  # (step, ids) of steps with spikes
        self._trains_cache = None
        self.recorded = np.ones(n, dtype=bool)
        if record == "output":  # OUT, and IN (the replayed inputs)
            self.recorded[:] = False
            for name in ("IN", "OUT"):
                self.recorded[self.offset[name]:self.offset[name] + self.size[name]] = True

    def _check_open(self):
        if self.closed:
            raise BackendError("this spinnaker-model network is closed; build the memory again")

    # -- inputs --------------------------------------------------------------------------------
    def set_inputs(self, trains) -> None:
        """Spike times (ms) of every IN neuron, past ones included (those are ignored)."""
        self._check_open()
        dt = self.timestep_ms
        trains = [np.asarray(t, dtype=float).ravel() for t in trains]
        times = np.concatenate(trains + [np.zeros(0)])
        ids = np.repeat(np.arange(len(trains)), [len(t) for t in trains]) + self.offset["IN"]
        steps = np.round(times / dt).astype(np.int64)
        off = ~np.isclose(steps * dt, times, rtol=0.0, atol=1e-9)
        if off.any():
            raise BackendError(f"spinnaker-model: input time {times[off][0]} ms is off the {dt} ms grid")
        keep = steps >= self.step  # steps already simulated were delivered then
        steps, ids = steps[keep], ids[keep]
        order = np.lexsort((ids, steps))
        steps, ids = steps[order], ids[order]
        bounds = np.flatnonzero(np.diff(steps)) + 1
        self.inputs = {int(st[0]): np.unique(i) for st, i in zip(np.split(steps, bounds), np.split(ids, bounds))
                       if len(st)}

    def next_input_ms(self) -> float:
        return self.step * self.timestep_ms

    # -- running -------------------------------------------------------------------------------
    def run_until(self, t_ms: float) -> None:
        """Simulate every step n with n * dt < t_ms."""
        self._check_open()
        end = math.ceil(t_ms / self.timestep_ms - 1e-9)
        n_all = self.n_total
        slots = self.max_d + 1
        plastic = list(self.plastic.values())
        is_neuron = self.is_neuron
        while self.step < end:
            n = self.step
            slot = self.ring[n % slots]
            # 1. arriving input
            self.i_e += self.scale_e * slot[:n_all]
            self.i_i += self.scale_i * slot[n_all:]
            slot[:] = 0.0
            # 2. membrane: exact over one step with the current held; refractory cells keep V
            active = is_neuron & (self.refrac <= 0)
            v_inf = self.v_rest + self.r_m * (self.i_e - self.i_i + self.i_offset)
            self.v = np.where(active, v_inf + (self.v - v_inf) * self.decay_m, self.v)
            self.refrac = np.where(active, self.refrac, self.refrac - 1)
            # 3. threshold
            fired = active & (self.v >= self.v_thresh)
            ids = np.flatnonzero(fired)
            if len(ids):
                self.v[ids] = self.v_reset[ids]
                self.refrac[ids] = self.refrac_steps[ids]
            # 4. current decay
            self.i_e *= self.decay_e
            self.i_i *= self.decay_i
            src = self.inputs.get(n)
            if src is not None:
                ids = np.concatenate([src, ids])
            if len(ids):
                self._send(n, ids, slots, plastic)
                rec = ids[self.recorded[ids]]
                if len(rec):
                    self.spike_log.append((n, rec))
                    self._trains_cache = None
            self.step += 1
        self.t_ms = max(self.t_ms, t_ms)

    def _send(self, n: int, ids: np.ndarray, slots: int, plastic) -> None:
        """Deliver the spikes ``ids`` of step ``n`` (STDP first, so they carry the updated weights)."""
        for p in plastic:
            lo, hi = p.post_index[0], p.post_index[-1] + 1
            post = ids[(ids >= lo) & (ids < hi)] - lo
            p.post_spikes(n, post)
            p.see_posts(n)
            lo, hi = p.pre_index[0], p.pre_index[-1] + 1
            pre = ids[(ids >= lo) & (ids < hi)] - lo
            if len(pre):
                w = p.pre_spikes(n, pre)
                self.ring[(n + p.d) % slots, p.post_index] += w.sum(axis=0)
        for d, (indptr, chan, w) in self.tables.items():
            starts, ends = indptr[ids], indptr[ids + 1]
            lens = ends - starts
            total = int(lens.sum())
            if total == 0:
                continue
            pos = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
            self.ring[(n + d) % slots] += np.bincount(chan[pos], weights=w[pos], minlength=2 * self.n_total)

    # -- reading -------------------------------------------------------------------------------
    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) of every neuron of ``population`` (IN: the inputs delivered so far)."""
        self._check_open()
        if self._trains_cache is None:
            if self.spike_log:
                steps = np.concatenate([np.full(len(ids), n) for n, ids in self.spike_log])
                ids = np.concatenate([ids for _, ids in self.spike_log])
            else:
                steps = ids = np.zeros(0, dtype=np.int64)
            self._trains_cache = (steps * self.timestep_ms, ids)
        times, ids = self._trains_cache
        lo, size = self.offset[population], self.size[population]
        sel = (ids >= lo) & (ids < lo + size)
        local, t = ids[sel] - lo, times[sel]
        order = np.argsort(local, kind="stable")  # the log is in time order: stays sorted per neuron
        return np.split(t[order].astype(float), np.searchsorted(local[order], np.arange(1, size)))

    def weights(self, projection: str) -> np.ndarray:
        """Weights (nA magnitudes) as a pre x post array, NaN where unconnected. Plastic weights are
        those the synapses hold: an update waits for the next pre spike (docs/spinnaker_arithmetic.md)."""
        self._check_open()
        if projection in self.plastic:
            p = self.plastic[projection]
            return np.where(p.mask, p.w, np.nan)
        pr = next((pr for pr in self.spec.projections if pr.name == projection), None)
        if pr is None:
            raise BackendError(f"spinnaker-model: no projection {projection!r}")
        out = np.full((self.size[pr.pre], self.size[pr.post]), np.nan)
        out[pr.pairs[:, 0], pr.pairs[:, 1]] = pr.weight_nA
        return out

    def set_weights(self, projection: str, matrix) -> None:
        """Set the weights (nA magnitudes, pre x post) of a plastic projection's synapses; potentiation
        still waiting for a pre spike is dropped, so the next pre spike starts from these values."""
        self._check_open()
        if projection not in self.plastic:
            raise BackendError(f"spinnaker-model: set_weights supports the plastic projections "
                               f"({', '.join(self.plastic)}), not {projection!r}")
        p = self.plastic[projection]
        matrix = np.abs(np.asarray(matrix, dtype=float))
        if matrix.shape != p.w.shape:
            raise BackendError(f"spinnaker-model: {projection} needs a {p.w.shape[0]} x {p.w.shape[1]} "
                               f"matrix, got {matrix.shape}")
        p.w = np.where(p.mask, matrix, 0.0)
        p.pending[:] = 0.0

    def close(self) -> None:
        self.closed = True

