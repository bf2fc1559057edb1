"""Converted vision and point-cloud SNNs: data, encodings, integer-spike nets, a reference SNN, NIR, training and
the PyNN conversion.

Layout (functional core in plain numpy; torch only for training). Layers point one way: ``data`` and ``snn`` need
only numpy/scipy; ``nir``, ``training`` and ``pynn`` build on ``snn``; nothing here imports ``hippocam.cam`` or
``hippocam.experiments`` (the command line ``hippocam event ...`` and the event-to-memory pipeline live in
``hippocam.experiments.event_cli`` and ``hippocam.experiments.event_memory_net``).

* ``data/``       ``events`` (DVS pixel model, saccade and gesture event streams, event-file reader),
                  ``pointclouds`` (synthetic shapes, augmentations, OFF/PLY readers, mesh sampling), ``datasets``
                  (seeded, cached train/test sets), ``encodings`` (frames, voxel grids, event clouds, Spike Voxel
                  Coding, images -> spikes), ``cache`` (the data cache folder), ``preview`` (figures of the data)
* ``snn/``        ``ops`` (the linear ops of a weight chain: one frozen dataclass per kind), ``net`` (the trained
                  network as plain numpy layers, its integer-activation forward pass, save/load), ``connectivity``
                  (chains as sparse synapse matrices), ``refsim`` (the reference spiking simulation), ``calibrate``
                  (bias calibration of the binary SNN), ``metrics`` (accuracy, spikes, synaptic operations, energy)
* ``nir/``        ``export`` (a net as a NIR graph and back), ``reader`` (graphs from other frameworks), ``load``,
                  ``nodes`` (the NIR node table both directions use)
* ``training/``   ``train`` (QCFS training in torch, the optional extra ``hippocam[train]``), ``finetune`` (the
                  SNN unrolled in torch for PyNN's reset to a value)
* ``pynn/``       conversion of a net to a backend-neutral graph for the PyNN backends, streaming, comparison
* ``zoo``         architectures, training recipes, the training run that writes model + NIR + card, shipped models
* ``models/``     the shipped trained models (``NAME.npz``, ``NAME.nir``, ``NAME.json`` card; ``value-reset/``:
                  weights fine-tuned for PyNN's reset to a value)
"""
