"""The integer-spike network (``net``), its connectivity, the reference spiking simulator (``refsim``), bias
calibration and metrics: plain numpy, the oracle for every backend."""
