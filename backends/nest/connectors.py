"""pyNN.nest's connection paths made bulk: a whole projection in one ``nest.Connect``, and the generator -> parrot
connections of spike sources with HPC synapses."""
from __future__ import annotations

import functools
from copy import deepcopy

import numpy as np

from ..pynn_common import bulk_rows

#: HPC synapses (a 2-byte target index) reach the first 65534 nodes of a thread; with one thread a node's index is
#: its node id - 1
HPC_MAX_NODE_ID = 65534


def node_ids(nodes) -> np.ndarray:
    """The node ids of a NodeCollection (sorted, distinct): from its ends when they are contiguous (a population:
    one ``Create``), as ``tolist`` asks NEST for every node's status (0.1 s for 30 k nodes)."""
    n = len(nodes)
    if n:
        first, last = nodes[0].global_id, nodes[n - 1].global_id
        if last - first + 1 == n:
            return np.arange(first, last + 1, dtype=np.int64)
    return np.asarray(nodes.tolist(), dtype=np.int64)


def connect_parrots(pop) -> None:
    """pyNN.nest's deferred generator -> parrot connections of a spike source population, with
    ``static_synapse_hom_w_hpc`` where the parrots are in its reach (a parrot repeats what arrives and ignores the
    weight). NEST keeps each device's connections in a container of its own that starts with room for 1024 of them:
    32 kB per spike generator with static_synapse, 8 kB with this one."""
    import nest

    spec = {"delay": pop._simulator.state.min_delay}
    parrots = pop.node_collection
    if nest.local_num_threads == 1 and parrots[len(parrots) - 1].global_id <= HPC_MAX_NODE_ID:
        spec["synapse_model"] = "static_synapse_hom_w_hpc"
    nest.Connect(pop.node_collection_source, parrots, "one_to_one", syn_spec=spec)
    pop._deferred_parrot_connections = False


@functools.cache
def bulk_connector_class():
    """FromListConnector that connects a whole projection with one ``nest.Connect`` call.

    pyNN.nest's FromListConnector calls nest.Connect once per postsynaptic cell; one call with
    ``one_to_one`` over paired node arrays, with the weights and delays as arrays (one value for a CAM
    projection, one per synapse for a converted event network), is about 10x faster from 64 x 64 up.
    Per-synapse weights come with the connector (or from the synapse type), every other parameter from the
    synapse type. Memory (tens of millions of synapses): the index and weight arrays are kept as given (no
    float pair list), dropped once connected, and the synapse type's parameters are copied with its scalars only.
    """
    import nest
    from pyNN.connectors import Connector, FromListConnector

    class BulkConnector(FromListConnector):
        def __init__(self, pre, post, weights=None):
            Connector.__init__(self)
            self.pre, self.post = np.asarray(pre), np.asarray(post)
            self.weights = None if weights is None else np.asarray(weights, dtype=float)
            self.column_names = () if weights is None else ("weight",)

        conn_list = property(bulk_rows)

        def connect(self, projection):
            pre, post, n = self.pre, self.post, len(self.pre)
            self.pre = self.post = None
            if n == 0:
                return
            synapse = projection.synapse_type
            given = self.weights
            if self.weights is None:
                params = synapse.native_parameters
            else:
                params = deepcopy(synapse.parameter_space)   # scalars: the weights are here
                params.shape = (n,)
                params.update(weight=self.weights)
                self.weights = None
                params = synapse.translate(params)
            params.shape = (n,)
            params.evaluate(simplify=True)     # homogeneous values become scalars, per-synapse ones stay arrays
            native = dict(params.items())
            del params
            # delta synapses: pyNN.nest scales weights to pA and back to mV with the cell's receptor_scale; w * 1000
            # * 1e-3 is not w in double (one weight in seven moves by an ulp), so given mV weights go in as they are
            scale = getattr(projection.post.celltype, "receptor_scale", 1.0)
            weight = np.broadcast_to(np.asarray(native.pop("weight"), dtype=float), n) * scale
            if given is not None and scale != 1.0:
                weight = given
            del given
            delay = np.ascontiguousarray(np.broadcast_to(np.asarray(native.pop("delay"), dtype=float), n))
            for unused in ("tau_minus", "dendritic_delay_fraction", "w_min_always_zero_in_NEST"):
                native.pop(unused, None)
            pre_ids = node_ids(projection.pre.node_collection)[pre]
            post_ids = node_ids(projection.post.node_collection)[post]
            del pre, post
            # plasticity parameters (tau_plus, lambda, alpha, Wmax, mu_plus, mu_minus) are
            # per-connection properties of stdp_synapse: pass them with the connections
            syn = {k: float(v) for k, v in native.items()}
            syn.update({"synapse_model": projection.nest_synapse_model,
                        "synapse_label": projection.nest_synapse_label,
                        "weight": np.ascontiguousarray(weight), "delay": delay})
            del weight, native
            cell = projection.post.celltype
            if not cell.standard_receptor_type:
                syn["receptor_type"] = cell.get_receptor_type(projection.receptor_type)
            nest.Connect(pre_ids, post_ids, {"rule": "one_to_one"}, syn)
            del syn, post_ids
            projection._sources.update(np.unique(pre_ids).tolist())
            projection._simulator.state.stale_connection_cache = True

    return BulkConnector
