"""s16.15 fixed point as a SpiNNaker core running sPyNNaker 7 computes it, on numpy int64 arrays of raw bits.

Every rule here is read from the C sources and settled in docs/spinnaker_arithmetic.md (which names the file of
each); tests/test_spinnaker_chip.py pins each one with a value worked by hand. In short: parameters are rounded
to nearest on the host; on the core ``+`` and ``-`` wrap at 32 bits, ``*`` keeps the floor of the product (no
rounding) and wraps; ``kdivk`` truncates; ``expk`` is spinn_common's table-and-series exponential, which
truncates its result.
"""
from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np

FRAC_BITS = 15
ONE = 1 << FRAC_BITS                  # 1.0 in s16.15 bits
MIN_BITS, MAX_BITS = -(1 << 31), (1 << 31) - 1
MAX_VALUE = MAX_BITS / ONE            # 65535.99997
MIN_VALUE = MIN_BITS / ONE            # -65536.0


def to_bits(x) -> np.ndarray:
    """The host's conversion of a parameter (``DataType.S1615``: nearest, ties to even); out of range is a
    ValueError, as on the host."""
    x = np.asarray(x, dtype=float)
    if np.any(x < MIN_VALUE) or np.any(x > MAX_VALUE):
        raise ValueError(f"value outside s16.15: {x.ravel()[(x.ravel() < MIN_VALUE) | (x.ravel() > MAX_VALUE)][:3]}")
    return np.round(x * ONE).astype(np.int64)


def from_bits(b) -> np.ndarray:
    return np.asarray(b, dtype=np.int64) / ONE


def wrap(b) -> np.ndarray:
    """A 32-bit two's complement wrap: what a plain accum sum, difference or product does out of range."""
    b = np.asarray(b, dtype=np.int64)
    return ((b - MIN_BITS) & 0xFFFFFFFF) + MIN_BITS


def add(a, b) -> np.ndarray:
    return wrap(np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64))


def sub(a, b) -> np.ndarray:
    return wrap(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))


def mul(a, b) -> np.ndarray:
    """accum * accum as GCC compiles it for the core's ARM code: the 64-bit product's bits 15..46, i.e. the floor
    of the exact product (towards minus infinity), wrapped. Operands must be 32-bit values (|bits| < 2**31), so the
    int64 product cannot overflow."""
    p = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    return wrap(p >> FRAC_BITS)


def kdivk(a, b) -> np.ndarray:
    """sPyNNaker's kdivk: the unsigned 64-bit quotient (bits(a) << 15) // bits(b), truncated to 32 bits. For the
    positive operands it is used with, the floor of a / b to a multiple of 2**-15."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if np.any(a < 0) or np.any(b <= 0):
        raise ValueError("kdivk is modelled for a >= 0 and b > 0 only (the core's unsigned division)")
    return wrap((a << FRAC_BITS) // b)


def kdivui(a, n: int) -> np.ndarray:
    """sPyNNaker's kdivui: bits(a) // n (the time step split into n sub-steps)."""
    return np.asarray(a, dtype=np.int64) // int(n)


# spinn_common's expk works on a 32.32 mantissa: exp of the integer part from a table, then 16 steps of 1/16 and a
# quadratic series for the remaining 11 bits. The two tables are round(exp(n) * 2**32) for n = -13..12 and
# round((1 - exp(-j/16)) * 2**32) for j = 0..15 (derived here, equal to the stored ones); the series coefficients
# are fitted constants, taken as they are.
getcontext().prec = 40
_EXP_HI = np.array([int((Decimal(n).exp() * 2 ** 32).to_integral_value()) for n in range(-13, 13)], dtype=np.uint64)
_EXPM1_MID = np.array([int(((1 - (Decimal(-j) / 16).exp()) * 2 ** 32).to_integral_value()) for j in range(16)],
                      dtype=np.uint64)
_SERIES = (5294, 4293434720, 2081624032)
_EXPK_HI, _EXPK_LO = 363408, -340695      # beyond these bits expk saturates (to the largest accum, or to 0)
_M32 = np.uint64(0xFFFFFFFF)


def _round64(x: np.ndarray) -> np.ndarray:
    """The integer part of a 32.32 number, plus one when the fraction is at least 0x7FFFFFFF (not quite half)."""
    return (x >> np.uint64(32)) + ((x & _M32) >= np.uint64(0x7FFFFFFF)).astype(np.uint64)


def _scale64(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * y / 2**32 for a 64-bit x and a 32-bit unsigned fraction y, rounded as the core does (``_round64``)."""
    return _round64((x & _M32) * y) + (x >> np.uint64(32)) * y


def _series(y: np.ndarray) -> np.ndarray:
    """About (1 - exp(-y / 2**32)) * 2**32 for y < 2**28."""
    c0, c1, c2 = (np.uint64(c) for c in _SERIES)
    t = (c1 - ((c2 * y) >> np.uint64(32))) & _M32
    return (((t * y) >> np.uint64(32)) + c0) & _M32


def expk(x) -> np.ndarray:
    """exp of s16.15 bits ``x`` as spinn_common's expk computes it (bits in, bits out, truncated)."""
    n = np.asarray(x, dtype=np.int64)
    z = n >> FRAC_BITS                       # floor of the value
    f = n - (z << FRAC_BITS)                 # 0..32767
    frac = f > 0
    z = np.where(frac, z + 1, z)             # exp(x) = exp(z) * exp(-(1 - f)) with z rounded up
    g = np.where(frac, ONE - f, 0)           # what is left to take off, in bits (1..32767)
    idx = np.clip(z + 13, 0, 25)
    m = _EXP_HI[idx]
    m = np.where(frac, m - _scale64(m, _EXPM1_MID[(g >> 11) & 15]), m)
    y = ((g & 0x7FF).astype(np.uint64) << np.uint64(17))
    m = np.where(frac, m - _scale64(m, _series(y)), m)
    r = (m >> np.uint64(17)).astype(np.int64)
    return np.where(n > _EXPK_HI, MAX_BITS, np.where(n < _EXPK_LO, 0, r))
