"""The changes hippocam makes to sPyNNaker's own code, each applied only to the version it was written against.

- ``convert_per_connection_data_to_rows``: sPyNNaker 1!7.4.1 builds synaptic rows by comparing every
  connection with every row index (quadratic: minutes for a million synapses, days for the 23 M of
  modelnet-voxel); ``rows_by_index`` builds the same rows in O(n log n).
- ``spinn_utilities.config_holder._user_cfg``: sPyNNaker refuses to start when it finds a second user
  configuration (``~/.spynnaker.cfg``, ``/etc/xdg/.spynnaker.cfg``); while ``setup()`` runs, its lookup is
  pinned to the file hippocam wrote (``config.spynnaker_config``).

Any other installed version is left unpatched, and ``apply`` says so once (a RuntimeWarning): its rows are
then built by sPyNNaker's own code, correct but slow for large graphs.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import warnings

import numpy as np

SUPPORTED_VERSION = "1!7.4.1"  # the sPyNNaker release these patches were written against (setup.cfg pins it)
ROW_BUILDER = "convert_per_connection_data_to_rows"

_original_rows = None  # sPyNNaker's own row builder, kept when it is replaced
_warned = False


def installed_version() -> str | None:
    try:
        return importlib.metadata.version("sPyNNaker")
    except importlib.metadata.PackageNotFoundError:
        return None


def supported() -> bool:
    """True if the installed sPyNNaker is the version the patches were written for; else warn once."""
    global _warned
    version = installed_version()
    if version == SUPPORTED_VERSION:
        return True
    if not _warned:
        _warned = True
        warnings.warn(f"spinnaker: sPyNNaker {version} is installed but hippocam's patches of sPyNNaker were "
                      f"written for {SUPPORTED_VERSION} and are not applied (large graphs map slowly); install "
                      f"it with: pip install '.[spinnaker]'", RuntimeWarning, stacklevel=3)
    return False


def rows_by_index(connection_row_indices, n_rows: int, data, max_n_synapses: int) -> list:
    """sPyNNaker's ``convert_per_connection_data_to_rows`` in O(n log n): the items of ``data`` whose row index is
    i, in their order, at most ``max_n_synapses`` of them, flattened, for each row i < ``n_rows``."""
    idx = np.asarray(connection_row_indices)
    keep = (idx >= 0) & (idx < n_rows)
    if not keep.all():
        idx, data = idx[keep], data[keep]
    order = np.argsort(idx, kind="stable")
    ordered = data[order]
    counts = np.bincount(idx, minlength=n_rows)[:n_rows]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    take = np.minimum(counts, max_n_synapses)
    return [ordered[a:a + n].reshape(-1) for a, n in zip(starts.tolist(), take.tolist())]


def _convert_per_connection_data_to_rows(self, connection_row_indices, n_rows, data, max_n_synapses):
    return rows_by_index(connection_row_indices, n_rows, data, max_n_synapses)


def _row_builder_class():
    from spynnaker.pyNN.models.neuron.synapse_dynamics.abstract_sdram_synapse_dynamics import (
        AbstractSDRAMSynapseDynamics)
    return AbstractSDRAMSynapseDynamics


def original_row_builder():
    """sPyNNaker's own ``convert_per_connection_data_to_rows`` (an unbound function), patched or not."""
    return _original_rows or getattr(_row_builder_class(), ROW_BUILDER)


def apply() -> bool:
    """Replace sPyNNaker's row builder by ``rows_by_index`` if the installed version is supported (once).

    Returns whether the patch is in place."""
    global _original_rows
    cls = _row_builder_class()
    if getattr(cls, ROW_BUILDER) is _convert_per_connection_data_to_rows:
        return True
    if not supported():
        return False
    _original_rows = getattr(cls, ROW_BUILDER)
    setattr(cls, ROW_BUILDER, _convert_per_connection_data_to_rows)
    return True


@contextlib.contextmanager
def pinned_user_config(path: str):
    """While the block runs, sPyNNaker's lookup of user configuration files finds only ``path``."""
    from spinn_utilities import config_holder

    old_lookup = getattr(config_holder, "_user_cfg", None)
    if old_lookup is None or not supported():
        yield
        return
    config_holder._user_cfg = lambda: path
    try:
        yield
    finally:
        config_holder._user_cfg = old_lookup
