"""Event streams: a DVS pixel model, saccade (N-MNIST-like) and synthetic gesture streams, and an event-file reader.

Events use tonic's layout: a numpy structured array with fields ``x``, ``y`` (pixels), ``t`` (microseconds) and
``p`` (polarity, 1 = brighter, 0 = darker), sorted by ``t``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hippocam import files
from hippocam.errors import InputError

EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])


def make_events(x, y, t, p) -> np.ndarray:
    """A structured event array from four equal-length sequences, sorted by time (stable)."""
    ev = np.empty(len(t), dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev[np.argsort(ev["t"], kind="stable")]


# --------------------------------------------------------------------------------------------------- DVS model
@dataclass(frozen=True)
class DVSParams:
    """An ESIM/v2e-style pixel: log-intensity change against a per-pixel reference.

    threshold: contrast threshold C on log intensity (both polarities); mismatch: per-pixel sigma of C;
    refractory_us: minimum time between two events of one pixel (µs); noise_hz: shot-noise events per pixel per
    second (random polarity); eps: intensity offset in log(I + eps), I in [0, 1].
    """
    threshold: float = 0.2
    mismatch: float = 0.03
    refractory_us: float = 500.0
    noise_hz: float = 0.5
    eps: float = 0.02


def dvs_events(frames: np.ndarray, frame_us: float, params: DVSParams, rng: np.random.Generator) -> np.ndarray:
    """Events from a rendered intensity video ``frames`` (F, H, W) in [0, 1], one frame every ``frame_us`` µs.

    A pixel whose log intensity has moved n thresholds from its reference emits up to n events of that polarity,
    spread over the frame interval but never closer than the refractory period; the reference moves by one
    threshold per emitted event, so a change missed during the refractory period is caught up later (as a real
    pixel does).
    """
    frames = np.asarray(frames, dtype=float)
    f, h, w = frames.shape
    c_on = np.maximum(params.threshold + params.mismatch * rng.standard_normal((h, w)), 0.05)
    c_off = np.maximum(params.threshold + params.mismatch * rng.standard_normal((h, w)), 0.05)
    ref = np.log(frames[0] + params.eps)
    last = np.full((h, w), -np.inf)
    refr = float(params.refractory_us)
    xs, ys, ts, ps = [], [], [], []
    for k in range(1, f):
        d = np.log(frames[k] + params.eps) - ref
        n = np.where(d > 0, np.floor(d / c_on), np.floor(-d / c_off)).astype(np.int64)
        iy, ix = np.nonzero(n > 0)
        if not len(iy):
            continue
        n = n[iy, ix]
        t0, t1 = (k - 1) * frame_us, k * frame_us
        start = np.maximum(t0, last[iy, ix] + refr)
        step = np.maximum(refr, (t1 - start) / n)
        room = np.where(start < t1, np.ceil((t1 - start) / step), 0).astype(np.int64)
        m = np.minimum(n, room)
        keep = m > 0
        iy, ix, m, start, step = iy[keep], ix[keep], m[keep], start[keep], step[keep]
        if not len(iy):
            continue
        j = np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m)   # 0..m-1 within each pixel
        t = np.repeat(start, m) + j * np.repeat(step, m)
        pol = (d[iy, ix] > 0)
        xs.append(np.repeat(ix, m)), ys.append(np.repeat(iy, m)), ts.append(t), ps.append(np.repeat(pol, m))
        ref[iy, ix] += np.where(pol, c_on[iy, ix], -c_off[iy, ix]) * m
        last[iy, ix] = start + (m - 1) * step
    duration = (f - 1) * frame_us
    n_noise = rng.poisson(params.noise_hz * h * w * duration * 1e-6)
    xs.append(rng.integers(0, w, n_noise)), ys.append(rng.integers(0, h, n_noise))
    ts.append(rng.uniform(0, duration, n_noise)), ps.append(rng.integers(0, 2, n_noise).astype(bool))
    return make_events(np.concatenate(xs), np.concatenate(ys), np.floor(np.concatenate(ts)).astype(np.int64),
                       np.concatenate(ps).astype(np.int8))


def _bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, fill: float) -> np.ndarray:
    """Sample ``img`` at fractional pixel coordinates; outside the image gives ``fill``."""
    h, w = img.shape[-2:]
    pad = np.pad(img, 1, constant_values=fill)
    x, y = np.clip(xs + 1, 0, w), np.clip(ys + 1, 0, h)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x0, y0 = np.minimum(x0, w), np.minimum(y0, h)
    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * pad[y0, x0] + fx * (1 - fy) * pad[y0, x0 + 1]
            + (1 - fx) * fy * pad[y0 + 1, x0] + fx * fy * pad[y0 + 1, x0 + 1])


# ------------------------------------------------------------------------------------------- saccade streams
@dataclass(frozen=True)
class SaccadeParams:
    """The N-MNIST protocol on a small image: three straight micro-saccades forming a triangle.

    zoom: image magnification onto the sensor; sensor: sensor side (pixels); amplitude: saccade size (pixels);
    saccade_ms: duration of each of the three saccades; frame_us: rendering interval; background, foreground:
    intensities of empty and full-ink pixels.
    """
    zoom: int = 3
    sensor: int = 32
    amplitude: float = 1.5
    saccade_ms: float = 100.0
    frame_us: float = 1000.0
    background: float = 0.1
    foreground: float = 1.0
    dvs: DVSParams = DVSParams()


def saccade_events(image: np.ndarray, params: SaccadeParams, rng: np.random.Generator) -> np.ndarray:
    """Events of a sensor that saccades over ``image`` (2-D, values scaled to [0, 1] by its maximum)."""
    img = np.asarray(image, dtype=float)
    img = img / img.max() if img.max() > 0 else img
    p = params
    ink = p.background + (p.foreground - p.background) * img
    h, w = ink.shape
    side = p.sensor
    # sensor pixel (i, j) looks at image coordinate ((j - off) / zoom, (i - off) / zoom), centred
    off_x, off_y = (side - w * p.zoom) / 2, (side - h * p.zoom) / 2
    jj, ii = np.meshgrid(np.arange(side, dtype=float), np.arange(side, dtype=float))
    a = p.amplitude
    corners = np.array([[0.0, 0.0], [a / 2, a], [a, 0.0], [0.0, 0.0]])  # isoceles triangle, back to the start
    per = int(round(p.saccade_ms * 1000 / p.frame_us))
    frac = np.arange(3 * per + 1) / per                  # saccade index + fraction, per frame
    seg = np.minimum(frac.astype(int), 2)
    shift = corners[seg] + (corners[seg + 1] - corners[seg]) * (frac - seg)[:, None]
    xs = (jj[None] + 0.5 - off_x - shift[:, 0, None, None]) / p.zoom - 0.5
    ys = (ii[None] + 0.5 - off_y - shift[:, 1, None, None]) / p.zoom - 0.5
    frames = _bilinear(ink, xs, ys, p.background)
    return dvs_events(frames, p.frame_us, p.dvs, rng)


# ------------------------------------------------------------------------------------------ gesture streams
GESTURES = ("right", "left", "up", "down", "rotate_cw", "rotate_ccw", "expand", "contract", "orbit_cw",
            "orbit_ccw")
SHAPES = ("bar", "cross", "ell", "triangle", "ellipse")


@dataclass(frozen=True)
class GestureParams:
    """Synthetic DVS gestures: a shape moving over a textured background, with distractors.

    sensor: side (pixels); duration_ms; frame_us: rendering interval; size: range of the shape's half-length
    (pixels); flicker: maximum relative amplitude of a global illumination flicker; distractor: probability of a
    second, small object crossing the view.
    """
    sensor: int = 32
    duration_ms: float = 500.0
    frame_us: float = 2000.0
    size: tuple[float, float] = (4.5, 7.5)
    flicker: float = 0.12
    distractor: float = 0.8
    dvs: DVSParams = DVSParams(threshold=0.25, noise_hz=1.0)


def _shape_sd(shape: str, u: np.ndarray, v: np.ndarray, s: float) -> np.ndarray:
    """Signed distance (pixels, > 0 inside) of a shape of half-length ``s`` in its own coordinates."""
    def rect(cu, cv, a, b):
        return np.minimum(a - np.abs(u - cu), b - np.abs(v - cv))
    if shape == "bar":
        return rect(0, 0, s, 0.3 * s)
    if shape == "cross":
        return np.maximum(rect(0, 0, s, 0.25 * s), rect(0, 0, 0.25 * s, 0.8 * s))
    if shape == "ell":
        return np.maximum(rect(0, 0.6 * s, s, 0.3 * s), rect(-0.7 * s, -0.1 * s, 0.3 * s, 0.9 * s))
    if shape == "triangle":
        ang = np.pi / 2 + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
        d = [0.5 * s - (u * np.cos(a) + v * np.sin(a)) for a in ang]   # inside all three half-planes
        return np.minimum.reduce(d) * 1.3
    if shape == "ellipse":
        r = np.sqrt((u / s) ** 2 + (v / (0.45 * s)) ** 2)
        return (1 - r) * 0.45 * s
    raise ValueError(shape)


def _texture(n: int, rng: np.random.Generator, sigma: float = 1.5) -> np.ndarray:
    """A static smooth random texture in [0.15, 0.55] (Gaussian-filtered white noise, by FFT)."""
    f = np.fft.fftfreq(n)
    g = np.exp(-2 * (np.pi * sigma) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    tex = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * g))
    tex = (tex - tex.min()) / (np.ptp(tex) + 1e-9)
    return 0.15 + 0.4 * tex


def gesture_events(label: int, params: GestureParams, rng: np.random.Generator) -> np.ndarray:
    """Events of one synthetic gesture of class ``label`` (an index into ``GESTURES``)."""
    p = params
    n = p.sensor
    name = GESTURES[label]
    shape = SHAPES[rng.integers(len(SHAPES))]
    size = rng.uniform(*p.size)
    bright = rng.random() < 0.5
    level = rng.uniform(0.75, 1.0) if bright else rng.uniform(0.02, 0.08)
    bg = _texture(n, rng)
    c0 = n / 2 + rng.uniform(-3, 3, 2)
    phi0 = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(-0.4, 0.4)          # every class turns a little, so rotation is not the only cue
    amp = rng.uniform(10, 16)               # translation length (pixels)
    spin = rng.uniform(1.6, 3.0)            # rotation (rad over the gesture)
    radius, turns = rng.uniform(5, 8), rng.uniform(0.6, 1.0)
    grow = rng.uniform(0.4, 0.55), rng.uniform(1.15, 1.35)
    flick_a, flick_f, flick_ph = rng.uniform(0, p.flicker), rng.uniform(4, 20), rng.uniform(0, 2 * np.pi)
    has_d = rng.random() < p.distractor
    d_pos, d_vel = rng.uniform(0, n, 2), rng.normal(0, 1, 2)
    d_vel = d_vel / (np.linalg.norm(d_vel) + 1e-9) * rng.uniform(15, 40)   # pixels per second
    d_level = rng.uniform(0.6, 1.0)
    frames_n = int(round(p.duration_ms * 1000 / p.frame_us)) + 1
    jj, ii = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    directions = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}  # image rows grow downwards
    tau = np.linspace(0, 1, frames_n)
    centre = np.repeat(c0[None], frames_n, 0)
    angle, scale = phi0 + drift * tau, np.ones(frames_n)
    if name in directions:
        centre = c0 + np.outer(tau - 0.5, directions[name]) * amp
    elif name.startswith("rotate"):
        angle = phi0 + (spin if name == "rotate_cw" else -spin) * tau
    elif name in ("expand", "contract"):
        lo, hi = grow
        scale = lo + (hi - lo) * (tau if name == "expand" else 1 - tau)
    else:
        a = phi0 + (1 if name == "orbit_cw" else -1) * 2 * np.pi * turns * tau
        centre = c0 + radius * np.stack([np.cos(a), np.sin(a)], 1)
    col = lambda x: x[:, None, None]  # noqa: E731  (per-frame value against the pixel grid)
    dx, dy = jj[None] - col(centre[:, 0]), ii[None] - col(centre[:, 1])
    ca, sa, sc = col(np.cos(angle)), col(np.sin(angle)), col(scale)
    u, v = (ca * dx + sa * dy) / sc, (-sa * dx + ca * dy) / sc
    cover = np.clip(0.5 + _shape_sd(shape, u, v, size) * sc, 0, 1)
    seconds = tau * p.duration_ms / 1000
    light = 1 + flick_a * np.sin(2 * np.pi * flick_f * seconds + flick_ph)
    frames = bg[None] * col(light)
    frames = frames + cover * (level - frames)
    if has_d:
        dp = d_pos + np.outer(seconds, d_vel)
        dc = np.clip(1.8 - np.hypot(jj[None] - col(dp[:, 0]), ii[None] - col(dp[:, 1])), 0, 1)
        frames = frames + dc * (d_level - frames)
    return dvs_events(np.clip(frames, 0, 1), p.frame_us, p.dvs, rng)


# ------------------------------------------------------------------------------------------------- reading
def check_events(ev, where: str = "events", sensor: tuple[int, int] | None = None) -> np.ndarray:
    """Validate a tonic-layout structured array and return it in ``EVENT_DTYPE``, sorted by time.

    sensor: (width, height) to check the coordinates against, if known.
    """
    if not isinstance(ev, np.ndarray) or ev.dtype.names is None:
        raise InputError(f"{where}: expected a numpy structured array with fields x, y, t, p (tonic's layout), "
                         f"got {type(ev).__name__}{'' if not isinstance(ev, np.ndarray) else ' of ' + str(ev.dtype)}")
    missing = [f for f in ("x", "y", "t", "p") if f not in ev.dtype.names]
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}; events need x, y, t (µs), p "
                         f"(fields found: {', '.join(ev.dtype.names)})")
    if ev.ndim != 1:
        raise InputError(f"{where}: events must be a 1-D array, got shape {ev.shape}")
    for f in ("x", "y", "t", "p"):
        kind = ev.dtype[f].kind
        if kind not in "iub" and not (f == "t" and kind == "f"):
            raise InputError(f"{where}: field {f} has type {ev.dtype[f]}; x, y and p must be integers, "
                             "t integer (or float) microseconds")
    if len(ev):
        if ev["x"].min() < 0 or ev["y"].min() < 0:
            raise InputError(f"{where}: negative pixel coordinates; x and y count pixels from 0")
        if sensor is not None and (ev["x"].max() >= sensor[0] or ev["y"].max() >= sensor[1]):
            raise InputError(f"{where}: events at x up to {ev['x'].max()}, y up to {ev['y'].max()} do not fit a "
                             f"{sensor[0]}x{sensor[1]} sensor; give the right sensor size")
        if not np.all(np.isfinite(ev["t"])) or ev["t"].min() < 0:
            raise InputError(f"{where}: timestamps must be finite and >= 0 µs")
        if not np.isin(ev["p"], (0, 1, -1)).all():
            raise InputError(f"{where}: polarity must be 0/1 (or -1/1), got values {np.unique(ev['p'])[:5]}")
    p = np.where(np.asarray(ev["p"]) > 0, 1, 0)
    return make_events(ev["x"], ev["y"], np.round(ev["t"]).astype(np.int64), p)


def read_events(path, sensor: tuple[int, int] | None = None) -> np.ndarray:
    """Read events from ``.npy`` (a structured array) or ``.npz`` (key ``events``, or the only array)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such event file")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                names = z.files
                if "events" in names:
                    ev = z["events"]
                elif len(names) == 1:
                    ev = z[names[0]]
                else:
                    raise InputError(f"{path}: holds arrays {', '.join(names)}; store the events under the key "
                                     "'events'")
        elif path.suffix == ".npy":
            ev = np.load(path, allow_pickle=False)
        else:
            raise InputError(f"{path}: unknown event file type {path.suffix!r}; use .npy or .npz holding a "
                             "structured array with fields x, y, t, p")
    except files.NUMPY_ERRORS as err:
        raise InputError(f"{path}: not a readable numpy file ({err})") from None
    return check_events(ev, str(path), sensor)
