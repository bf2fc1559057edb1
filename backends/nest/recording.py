"""pyNN.nest's recorders made lighter for big networks: a multimeter that exists in NEST only once something records
an analog variable, spike recorders connected with HPC synapses, and spikes read back without neo."""
from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np


def split_by_index(index: np.ndarray, times: np.ndarray, size: int) -> list[np.ndarray]:
    """``times`` split by ``index`` (0..size-1) into one array per index, each in its given order: views of one
    sorted copy (the monitors of a converted network hold tens of millions of spikes)."""
    order = np.argsort(index, kind="stable")  # each cell's spikes stay in time order
    bounds = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(index, minlength=size)[:size], out=bounds[1:])
    times = times[order]
    del order
    return [times[bounds[i]:bounds[i + 1]] for i in range(size)]


@functools.cache
def lazy_recorder_class():
    """pyNN.nest's Recorder with a multimeter that exists in NEST only once it is used."""
    import nest
    import importlib

    base_recording = importlib.import_module("pyNN.recording")
    recording = importlib.import_module("pyNN.nest.recording")  # pyNN.nest's "recording" is pyNN's
    simulator = importlib.import_module("pyNN.nest.simulator")

    class LazyMultimeter(recording.Multimeter):
        def __init__(self, to_memory=True):  # RecordingDevice.__init__ without touching the device
            self._device = None
            self._to_memory = to_memory
            self._initial_values = {}
            self._all_ids = set()
            self._connected = False
            self._overrun_data = None
            self._clean = True
            self.interval = simulator.state.dt  # until the device exists
            simulator.state.recording_devices.append(self)

        @property
        def device(self):
            if self._device is None:
                self._device = nest.Create("multimeter")
                self._device.record_to = "memory" if self._to_memory else "ascii"
                recording._set_status(self._device, {"interval": self.interval})
            return self._device

        def connect_to_cells(self):
            if self._all_ids:
                return super().connect_to_cells()
            self._connected = True

    class CompactSpikeDetector(recording.SpikeDetector):
        """pyNN.nest's spike recorder, connected with ``static_synapse_hom_w_hpc`` rather than
        ``static_synapse``. NEST keeps a neuron's connections to devices in a container of its own that starts
        with room for 1024 of them: 32 kB per recorded neuron with static_synapse (2.8 GB for 86 k cells), 8 kB
        with this one. The recorder stores the sender and the spike time either way.

        HPC synapses reach only the first 65534 nodes of a thread: a graph build makes its recorders before its
        cells (``pool``, one per population, taken in order); a recorder made later falls back to static_synapse
        when it is out of reach (NEST then makes no connection)."""

        pool: list = []

        def __init__(self, to_memory=True):
            self.device = self.pool.pop(0) if self.pool else nest.Create("spike_recorder")
            parameters = {} if to_memory else {"precision": simulator.state.default_recording_precision}
            recording.RecordingDevice.__init__(self, parameters, to_memory)

        def connect_to_cells(self):
            assert not self._connected
            if len(self._all_ids) > 0:
                cells, spec = nest.NodeCollection(sorted(self._all_ids)), {"delay": simulator.state.min_delay}
                try:
                    nest.Connect(cells, self.device, {"rule": "all_to_all"},
                                 {**spec, "synapse_model": "static_synapse_hom_w_hpc"})
                except nest.NESTError as err:
                    if "HPC" not in str(err):
                        raise
                    nest.Connect(cells, self.device, {"rule": "all_to_all"}, spec)
            self._connected = True

    class LazyRecorder(recording.Recorder):
        def __init__(self, population, file=None):  # pyNN.nest's, with the lazy multimeter
            self._multimeter = LazyMultimeter()
            self._spike_detector = CompactSpikeDetector()
            base_recording.Recorder.__init__(self, population, file)
            self.recorded_all = defaultdict(set)

        def _get_sampling_interval(self):
            mm = self._multimeter
            return mm.interval if mm._device is None else recording.Recorder._get_sampling_interval(self)

        def _set_sampling_interval(self, value):
            mm = self._multimeter
            if value is not None and mm._device is None:
                mm.interval = value
            else:
                recording.Recorder._set_sampling_interval(self, value)

        sampling_interval = property(fget=_get_sampling_interval, fset=_set_sampling_interval)

    LazyRecorder.spike_detector_class = CompactSpikeDetector
    return LazyRecorder
