"""Rank facts of a run started by ``mpirun`` (or a scheduler's launcher), and the few collective steps hippocam needs.

A process learns its rank from its launcher's environment, before any simulator is imported, so that the command
line can keep ranks other than 0 quiet from its first line. The collective steps use mpi4py (which pyNN itself
needs to gather recordings under MPI); in a single process they return their input and never import it.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from hippocam.errors import BackendError, HippocamError

#: (rank, size) variables of the launchers in use: OpenMPI, MPICH / Intel MPI / Slurm's PMI, PMIx
_LAUNCHER_VARS = (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                  ("PMIX_RANK", "PMIX_SIZE"))


def _launcher() -> tuple[int, int]:
    for rank_var, size_var in _LAUNCHER_VARS:
        rank = os.environ.get(rank_var)
        if rank is not None:
            try:
                return int(rank), int(os.environ.get(size_var, "1"))
            except ValueError:
                continue
    return 0, 1


def rank() -> int:
    """This process's rank (0 outside MPI)."""
    return _launcher()[0]


def size() -> int:
    """How many processes the launcher started (1 outside MPI)."""
    return _launcher()[1]


def is_root() -> bool:
    """Whether this process prints, decides and writes files: rank 0, or the only process."""
    return rank() == 0


@functools.cache
def _comm():
    try:
        from mpi4py import MPI
    except ImportError:
        raise BackendError(f"running on {size()} MPI ranks needs mpi4py: pip install mpi4py (into the environment "
                           "of the NEST built with MPI)") from None
    return MPI.COMM_WORLD


def allgather_arrays(local: np.ndarray) -> np.ndarray:
    """Every rank's ``local`` (1-d, one dtype on all ranks) concatenated in rank order, on every rank."""
    if size() == 1:
        return local
    comm = _comm()
    local = np.ascontiguousarray(local)
    counts = np.asarray(comm.allgather(local.size), dtype=np.int64)
    out = np.empty(int(counts.sum()), dtype=local.dtype)
    # raw bytes: one call for any dtype, tens of millions of spikes without pickling
    comm.Allgatherv(local.view(np.uint8), [out.view(np.uint8), counts * local.itemsize])
    return out


def fill_from_owners(values: np.ndarray, local: np.ndarray) -> np.ndarray:
    """``values`` where ``local`` (this rank owns the entry) and the owning rank's value elsewhere, on every rank;
    every entry is owned by exactly one rank."""
    if size() == 1:
        return values
    from mpi4py import MPI
    mine = np.where(local, np.asarray(values, dtype=float), -np.inf)
    out = np.empty_like(mine)
    _comm().Allreduce(mine, out, op=MPI.MAX)
    return out


def broadcast(obj):
    """Rank 0's ``obj`` on every rank."""
    if size() == 1:
        return obj
    return _comm().bcast(obj, root=0)


def on_root(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run on rank 0 only, its result (or its ``HippocamError``) on every rank: for steps
    that touch shared files, which every rank must then agree on (a rank that saw another answer would hang)."""
    if size() == 1:
        return fn(*args, **kwargs)
    outcome = None
    if is_root():
        try:
            outcome = (True, fn(*args, **kwargs))
        except HippocamError as err:
            outcome = (False, err)
    ok, value = broadcast(outcome)
    if not ok:
        raise value
    return value


def wait_for_others(timeout_s: float = 5.0) -> None:
    """Give the other ranks up to ``timeout_s`` to reach this point too (an error that every rank finds): mpirun
    ends the whole job as soon as one rank exits with an error, and rank 0 must have said why by then."""
    if size() == 1:
        return
    import sys
    import time
    if "mpi4py.MPI" not in sys.modules and "nest" not in sys.modules:   # MPI never started: no barrier to meet
        time.sleep(min(timeout_s, 1.0))
        return
    request = _comm().Ibarrier()
    end = time.monotonic() + timeout_s
    while not request.Test() and time.monotonic() < end:
        time.sleep(0.01)
