"""Converted vision and point-cloud SNNs (issue 5): data, encodings, integer-spike nets, a reference SNN, NIR export.

Layout (functional core in plain numpy; torch only for training):

* ``events``      DVS pixel model, saccade (N-MNIST-like) and synthetic gesture event streams, event-file reader
* ``pointclouds`` synthetic ModelNet-like shapes with normals and augmentations, OFF/PLY readers, mesh sampling
* ``datasets``    seeded, cached train/test sets built from the generators
* ``encodings``   events -> frames/voxel grids, event clouds (SpikePoint), Spike Voxel Coding, images -> spikes
* ``net``         the trained network as plain numpy layers, and the integer-activation (source) forward pass
* ``refsim``      the reference spiking simulation (discrete time, IF neurons, reset by subtraction or to value)
* ``calibrate``   bias calibration of the binary SNN at T steps (the SNN's own biases, beside the trained ones)
* ``metrics``     accuracy, agreement, spikes, synaptic operations, parameters, the 45 nm energy proxy
* ``nirio``       NIR export / import of ``net.Net``
* ``zoo``         architectures, training recipes, the training run that writes model + NIR + card, shipped models
* ``models``      the shipped trained models (``NAME.npz``, ``NAME.nir``, ``NAME.json`` card)
* ``train``       torch training (optional extra ``hippocam[train]``)
* ``preview``     figures of the data
* ``cli``         ``hippocam event train|evaluate|preview``
"""
