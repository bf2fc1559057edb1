"""Encodings as pure numpy functions: events -> frames / voxel grids / event clouds, points -> Spike Voxel Coding,
images -> integer spikes, integer counts -> binary spike trains.

Every network input is an array of integer spike counts in 0..D (D = the model's levels); a count k stands for the
rate k/D spikes per step, and ``spread`` turns it into a binary train over T steps.
"""
from __future__ import annotations

import numpy as np

from hippocam.errors import InputError


def _check_levels(levels):
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise InputError(f"levels must be a positive integer (D in 0..D), got {levels!r}")
    return int(levels)


# ------------------------------------------------------------------------------------------ frames, voxels
def event_frames(events: np.ndarray, sensor: tuple[int, int], duration_us: float, bins: int,
                 pool: int = 1) -> np.ndarray:
    """Count events into (bins * 2, H // pool, W // pool) frames; channel ``2 * bin + polarity``.

    sensor: (width, height); duration_us: the window split into ``bins`` equal time bins (events at or after the
    end fall in the last bin); pool: sum ``pool`` x ``pool`` pixel blocks (a coarser sensor).
    """
    w, h = sensor
    if bins < 1 or pool < 1 or w % pool or h % pool:
        raise InputError(f"bins ({bins}) and pool ({pool}) must be >= 1 and pool must divide the sensor {w}x{h}")
    b = np.clip((events["t"] * bins // max(duration_us, 1)).astype(np.int64), 0, bins - 1)
    ch = 2 * b + (events["p"] > 0)
    out = np.zeros((2 * bins, h // pool, w // pool), np.int32)
    np.add.at(out, (ch, events["y"] // pool, events["x"] // pool), 1)
    return out


def voxel_grid(events: np.ndarray, sensor: tuple[int, int], duration_us: float, bins: int) -> np.ndarray:
    """A (bins, 2, H, W) float voxel grid: each event shares its unit weight between its two nearest time bins
    (linear in time), so the grid changes smoothly as an event moves in time."""
    w, h = sensor
    out = np.zeros((bins, 2, h, w))
    if not len(events):
        return out
    tn = events["t"] / max(duration_us, 1) * (bins - 1) if bins > 1 else np.zeros(len(events))
    lo = np.clip(np.floor(tn).astype(int), 0, bins - 1)
    hi = np.minimum(lo + 1, bins - 1)
    frac = np.clip(tn - lo, 0, 1)
    pol = (events["p"] > 0).astype(int)
    np.add.at(out, (lo, pol, events["y"], events["x"]), 1 - frac)
    np.add.at(out, (hi, pol, events["y"], events["x"]), frac)
    return out


def clip_counts(counts: np.ndarray, levels: int) -> np.ndarray:
    """Integer spike counts clipped to 0..levels (uint8)."""
    return np.clip(counts, 0, _check_levels(levels)).astype(np.uint8)


# --------------------------------------------------------------------------------------------- event cloud
def background_filter(events: np.ndarray, sensor: tuple[int, int], window_us: float = 10_000.0) -> np.ndarray:
    """Drop isolated (background-activity) events: keep an event when another event fell in its 3 x 3 pixel
    neighbourhood within the same or the previous time slice of ``window_us``. Shot noise is isolated; edges of
    moving objects are not. Farthest-point sampling would otherwise pick noise events as centroids first."""
    w, h = sensor
    if not len(events):
        return events
    sl = (events["t"] // window_us).astype(np.int64)
    n_sl = int(sl.max()) + 2
    grid = np.zeros((n_sl, h + 2, w + 2), np.int32)
    np.add.at(grid, (sl + 1, events["y"] + 1, events["x"] + 1), 1)
    box = sum(grid[:, 1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    near = box[sl + 1, events["y"], events["x"]] + box[sl, events["y"], events["x"]] - 1   # minus the event itself
    return events[near > 0]


def farthest_points(points: np.ndarray, m: int, start: int = 0) -> np.ndarray:
    """Indices of ``m`` points chosen by farthest-point sampling from ``start`` (deterministic)."""
    n = len(points)
    if m > n:
        raise InputError(f"cannot choose {m} centroids from {n} points; lower the group count")
    idx = np.empty(m, np.int64)
    idx[0] = start
    dist = np.full(n, np.inf)
    for i in range(1, m):
        dist = np.minimum(dist, ((points - points[idx[i - 1]]) ** 2).sum(1))
        idx[i] = int(np.argmax(dist))
    return idx


def knn(points: np.ndarray, centres: np.ndarray, k: int) -> np.ndarray:
    """(len(centres), k) indices of each centre's k nearest points, nearest first (ties by index)."""
    d = ((centres[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    order = np.argsort(d, axis=1, kind="stable")
    return order[:, :k]


EVENT_CLOUD_CHANNELS = ("cx", "cy", "ct", "rx+", "rx-", "ry+", "ry-",
                        "early dx+", "early dx-", "early dy+", "early dy-",
                        "late dx+", "late dx-", "late dy+", "late dy-", "dt+", "dt-", "p")


def event_cloud(events: np.ndarray, sensor: tuple[int, int], duration_us: float, n_events: int, groups: int,
                k: int, rng: np.random.Generator, t_scale: float = 1.0, offset_scale: float = 4.0,
                centre_scale: float = 2.0) -> np.ndarray:
    """SpikePoint-style grouped event cloud: (18, groups, k) non-negative features in [0, 1].

    Events are sampled (``n_events``), normalised to x, y, t in [0, 1] (t multiplied by ``t_scale`` for the
    distances), grouped around farthest-point centroids by k nearest neighbours. Rate codes cannot carry signs, so
    every signed quantity is split into positive and negative parts. Per neighbour (channel order:
    ``EVENT_CLOUD_CHANNELS``):

    * the centroid's absolute position cx, cy, ct;
    * the centroid's x, y relative to the mean of the sampled events (the cloud's centre), times ``centre_scale``,
      split +/- and clipped to 1: where in the gesture the group sits;
    * the neighbour's x, y offset from its centroid (times ``offset_scale``, split +/-, clipped to 1), written into
      the "early" channels for the k // 2 earliest neighbours of the group and into the "late" channels for the
      others (zeros in the other half): after average pooling, late minus early is the group's local motion, so
      the sense of a rotation or an expansion is visible locally;
    * its time offset dt +/- (times ``offset_scale``) and its polarity.

    This is our reading of SpikePoint's coordinate coding (with a time-ordered split of the offsets), not a copy.
    """
    w, h = sensor
    nch = len(EVENT_CLOUD_CHANNELS)
    if len(events) == 0:
        return np.zeros((nch, groups, k))
    pick = rng.choice(len(events), n_events, replace=len(events) < n_events)
    ev = events[np.sort(pick)]
    xyz = np.stack([ev["x"] / max(w - 1, 1), ev["y"] / max(h - 1, 1),
                    np.clip(ev["t"] / max(duration_us, 1), 0, 1)], 1)
    scaled = xyz * [1, 1, t_scale]
    cent = farthest_points(scaled, groups, start=int(rng.integers(len(scaled))))
    nb = knn(scaled, scaled[cent], k)                         # (groups, k)

    def parts(v):                                             # signed (..., m) -> (..., 2m): +, - per component
        return np.stack([np.clip(v, 0, 1), np.clip(-v, 0, 1)], -1).reshape(v.shape[:-1] + (2 * v.shape[-1],))

    off = (xyz[nb] - xyz[cent][:, None, :]) * offset_scale    # (groups, k, 3)
    rel = (xyz[cent, :2] - xyz[:, :2].mean(0)) * centre_scale  # (groups, 2)
    rank = np.argsort(np.argsort(xyz[nb, 2], axis=1, kind="stable"), axis=1, kind="stable")
    late = (rank >= k // 2)[..., None]                        # (groups, k, 1): the later half of each group
    dxy = parts(off[..., :2])                                 # (groups, k, 4)
    feats = np.concatenate([np.broadcast_to(xyz[cent][:, None, :], off.shape),
                            np.broadcast_to(parts(rel)[:, None, :], (groups, k, 4)),
                            np.where(late, 0, dxy), np.where(late, dxy, 0),
                            parts(off[..., 2:]),
                            (ev["p"][nb] > 0)[..., None].astype(float)], -1)
    return np.moveaxis(feats, -1, 0)


def rate_code(values: np.ndarray, levels: int) -> np.ndarray:
    """Values in [0, 1] to integer counts round(v * levels) in 0..levels (uint8)."""
    levels = _check_levels(levels)
    return np.clip(np.floor(np.asarray(values, float) * levels + 0.5), 0, levels).astype(np.uint8)


# ------------------------------------------------------------------------------------- Spike Voxel Coding
def voxel_features(points: np.ndarray, normals: np.ndarray | None, grid: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Per voxel of a grid^3 over [-1, 1]^3 (axis order x, y, z): the point count (grid, grid, grid) and, with
    normals, the mean normal split into non-negative parts (6, grid, grid, grid): x+, x-, y+, y-, z+, z-."""
    pts = np.asarray(points, float)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise InputError(f"points must have shape (N, 3), got {pts.shape}")
    ijk = np.clip(np.floor((pts + 1) / 2 * grid).astype(int), 0, grid - 1)
    flat = np.ravel_multi_index(ijk.T, (grid,) * 3)
    count = np.bincount(flat, minlength=grid ** 3)
    parts = None
    if normals is not None:
        nsum = np.stack([np.bincount(flat, weights=np.asarray(normals, float)[:, i], minlength=grid ** 3)
                         for i in range(3)])
        mean = nsum / np.maximum(count, 1)
        parts = np.stack([f(mean[i]) for i in range(3) for f in (lambda m: np.clip(m, 0, 1),
                                                                  lambda m: np.clip(-m, 0, 1))])
        parts = parts.reshape(6, grid, grid, grid)
    return count.reshape(grid, grid, grid), parts


def spike_voxels(points: np.ndarray, normals: np.ndarray | None, grid: int, levels: int) -> np.ndarray:
    """Spike Voxel Coding of a cloud in [-1, 1]^3: (1 or 7, grid, grid, grid) integer counts in 0..levels.

    Channel 0 counts the points per voxel (clipped to ``levels``); with normals, channels 1..6 hold the voxel's
    mean normal split into positive and negative parts (x+, x-, y+, y-, z+, z-), rate-coded to 0..levels.
    """
    levels = _check_levels(levels)
    count, parts = voxel_features(points, normals, grid)
    return quantise_voxels(count, parts, levels)


def quantise_voxels(count: np.ndarray, parts: np.ndarray | None, levels: int) -> np.ndarray:
    """Spike Voxel Coding from ``voxel_features``: counts clipped to 0..levels, normal parts rate-coded."""
    chans = [clip_counts(count, levels)[None]]
    if parts is not None:
        chans.append(rate_code(parts, levels))
    return np.concatenate(chans).astype(np.uint8)


# ------------------------------------------------------------------------------------------------- images
def image_counts(images: np.ndarray, vmax: float, levels: int) -> np.ndarray:
    """Images with values in 0..vmax to integer spike counts round(v / vmax * levels) (uint8)."""
    return rate_code(np.asarray(images, float) / vmax, levels)


def spread(counts: np.ndarray, steps: int, levels: int) -> np.ndarray:
    """Binary spike trains (steps, *counts.shape) for counts in 0..levels: the rate k/levels spread evenly.

    Step t (1-based) carries a spike when floor(t*k/levels + 1/2) grows, i.e. an integrate-and-fire encoder with
    threshold 1 started half-way; so there are floor(steps*k/levels + 1/2) spikes, exactly k when
    steps == levels.
    """
    levels = _check_levels(levels)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"the number of time steps must be a positive integer, got {steps!r}")
    k = np.asarray(counts, np.int64)
    if k.size and (k.min() < 0 or k.max() > levels):
        raise InputError(f"spike counts must lie in 0..{levels}, got {k.min()}..{k.max()}")
    t = np.arange(steps + 1).reshape((-1,) + (1,) * k.ndim)
    cum = (2 * t * k + levels) // (2 * levels)          # floor(t*k/levels + 1/2) in integers
    return np.diff(cum, axis=0).astype(np.uint8)
