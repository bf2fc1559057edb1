"""The NEST backend on several MPI ranks: what pyNN.nest and NEST do there, and what the backend adds.

NEST gives each rank a share of the neurons (round robin by node id); devices (spike generators, spike recorders)
exist on every rank and act on the rank's own neurons only. So every rank sets every generator's spike times (as one
process does), a spike recorder holds the spikes of its rank's neurons, and a neuron's state is readable only on its
rank (``GetStatus`` gives None elsewhere). The backend gathers spikes and membranes onto every rank, so that every
rank decodes the same answers and takes the same decisions in the steps that follow (which inputs come next).
"""
from __future__ import annotations

import functools

import numpy as np

from .. import mpi


@functools.cache
def num_processes() -> int:
    """Ranks NEST runs on: 1 without MPI, also under mpirun, where each process then runs the whole network alone.
    Read once per process: a kernel query builds NEST's whole status."""
    import nest
    return int(nest.NumProcesses())


def facts() -> str:
    """What ``hippocam backends`` says about MPI: whether this NEST has it, and how many ranks run."""
    import nest
    have = bool(nest.build_info.get("have_mpi", False))
    ranks = num_processes()
    if not have:
        alone = f"; the {mpi.size()} processes of this mpirun each run alone" if mpi.size() > 1 else ""
        return f"no MPI{alone} (README, 'Scale-out': a NEST with MPI)"
    return f"MPI, {ranks} rank{'s' if ranks != 1 else ''} running"


@functools.cache
def patch_pynn() -> None:
    """pyNN.nest 0.13 keeps a population's local mask as ``np.array(node_collection.local)``: NEST answers a bare
    False for a one-cell population whose cell lives on another rank, and setting the population's initial values
    then fails on the 0-d mask (IndexError). A 1-d mask is what pyNN meant."""
    from pyNN.nest.populations import Population

    create = Population._create_cells

    def _create_cells(self):
        create(self)
        self._mask_local = np.atleast_1d(self._mask_local)

    Population._create_cells = _create_cells


def settle_kernel_for_ranks() -> None:
    """On several ranks, a new network (after pyNN's ResetKernel) turns NEST's compressed spikes off.

    NEST 3.10 with MPI, compressed spikes on (its default): a network with stdp_synapse built after a smaller one
    in the same process spikes differently from the same network built fresh (pure NEST, 100 then 400 cells:
    4,694 spikes against 4,525; static synapses, or compressed spikes off: 4,525 both ways, as in one process).
    Checked on 2 ranks; every later CAM then agreed with the oracle again (docs/toolchain.md)."""
    if num_processes() > 1:
        import nest
        nest.SetKernelStatus({"use_compressed_spikes": False})


def gather_events(senders: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every rank's recorded (senders, times) on every rank; a neuron's spikes stay in the order its rank has them."""
    if num_processes() == 1:
        return senders, times
    return (mpi.allgather_arrays(np.asarray(senders, dtype=np.int64)),
            mpi.allgather_arrays(np.asarray(times, dtype=float)))


def gather_values(values) -> np.ndarray:
    """Per-node values from ``GetStatus`` (None where the node lives on another rank) completed on every rank."""
    if num_processes() == 1:
        return np.asarray(values, dtype=float)
    local = np.array([v is not None for v in values], dtype=bool)
    mine = np.array([v if v is not None else 0.0 for v in values], dtype=float)
    return mpi.fill_from_owners(mine, local)
