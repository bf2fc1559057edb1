"""s16.15 fixed point as a SpiNNaker core computes it (ISO C ``accum``), on numpy int64 arrays of raw bits.

SKELETON (contract for the chip plan and the spinnaker-model graph runner): the signatures are fixed, the bodies
are to be settled against sPyNNaker's C sources (docs/spinnaker_arithmetic.md) and pinned by hand-worked tests.
"""
from __future__ import annotations

import numpy as np

FRAC_BITS = 15
ONE = 1 << FRAC_BITS                  # 1.0 in s16.15 bits
MIN_BITS, MAX_BITS = -(1 << 31), (1 << 31) - 1
MAX_VALUE = MAX_BITS / ONE            # 65535.99997


def to_bits(x) -> np.ndarray:
    """The host's conversion of a parameter (``DataType.S1615``: nearest); out of range is a ValueError."""
    b = np.round(np.asarray(x, dtype=float) * ONE)
    if np.any(b < MIN_BITS) or np.any(b > MAX_BITS):
        raise ValueError(f"value outside s16.15: {np.asarray(x).ravel()[:3]}")
    return b.astype(np.int64)


def from_bits(b) -> np.ndarray:
    return np.asarray(b, dtype=np.int64) / ONE


def wrap(b) -> np.ndarray:
    """A 32-bit two's complement wrap (plain accum arithmetic does not saturate)."""
    b = np.asarray(b, dtype=np.int64)
    return ((b - MIN_BITS) & 0xFFFFFFFF) + MIN_BITS


def mul(a, b) -> np.ndarray:
    """accum * accum on the core (rounded to nearest, wrapped)."""
    p = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    return wrap((p + (1 << (FRAC_BITS - 1))) >> FRAC_BITS)


def kdivk(a, b) -> np.ndarray:
    """sPyNNaker's kdivk: (bits(a) << 15) // bits(b), truncating (unsigned)."""
    return (np.asarray(a, dtype=np.int64) << FRAC_BITS) // np.asarray(b, dtype=np.int64)


def expk(x) -> np.ndarray:
    """exp of an s16.15 value as the core's expk computes it."""
    return to_bits(np.exp(from_bits(x)))
