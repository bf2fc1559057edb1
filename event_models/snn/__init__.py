"""The integer-spike network (``net``) and the ops of its weight chains (``ops``), its connectivity, the reference
spiking simulator (``refsim``), bias calibration and metrics: plain numpy, the oracle for every backend."""
