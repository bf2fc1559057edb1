"""Point clouds: synthetic ModelNet-like shapes with normals, augmentations, mesh sampling, OFF and PLY readers.

Coordinates are unitless (objects are normalised into the unit sphere); the up axis is z (ModelNet is
gravity-aligned). A cloud is a pair (points (N, 3), normals (N, 3) of unit length).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hippocam.errors import InputError

CLASSES = ("sphere", "box", "cylinder", "cone", "torus", "pyramid", "capsule", "table", "chair", "lamp")


# --------------------------------------------------------------------------------------- surface sampling
def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sphere(n, rng, r=1.0, centre=(0, 0, 0), zmin=-np.inf, zmax=np.inf):
    """Uniform on a sphere (optionally only the band zmin <= z <= zmax, by rejection)."""
    out = np.empty((0, 3))
    while len(out) < n:
        d = _unit(rng.standard_normal((2 * n + 8, 3)))
        d = d[(d[:, 2] * r >= zmin) & (d[:, 2] * r <= zmax)]
        out = np.concatenate([out, d])
    d = out[:n]
    return d * r + np.asarray(centre, float), d


def _box_faces(half):
    """(area, centre, normal, in-plane axes with half extents) of the six faces of a box."""
    a = np.asarray(half, float)
    faces = []
    for ax in range(3):
        u, v = [i for i in range(3) if i != ax]
        for s in (1, -1):
            c = np.zeros(3)
            c[ax] = s * a[ax]
            nrm = np.zeros(3)
            nrm[ax] = s
            faces.append((4 * a[u] * a[v], c, nrm, u, v))
    return faces


def _box(n, rng, half, centre=(0, 0, 0)):
    faces = _box_faces(half)
    area = np.array([f[0] for f in faces])
    which = rng.choice(len(faces), n, p=area / area.sum())
    pts, nrm = np.empty((n, 3)), np.empty((n, 3))
    half = np.asarray(half, float)
    for i, (_, c, nv, u, v) in enumerate(faces):
        m = which == i
        k = m.sum()
        p = np.repeat(c[None], k, 0)
        p[:, u] = rng.uniform(-half[u], half[u], k)
        p[:, v] = rng.uniform(-half[v], half[v], k)
        pts[m], nrm[m] = p, nv
    return pts + np.asarray(centre, float), nrm


def _disc(n, rng, r, z, up):
    rad, ang = r * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([rad * np.cos(ang), rad * np.sin(ang), np.full(n, z)], 1)
    return pts, np.repeat([[0, 0, 1.0 if up else -1.0]], n, 0)


def _tube(n, rng, r, z0, z1):
    ang, z = rng.uniform(0, 2 * np.pi, n), rng.uniform(z0, z1, n)
    nrm = np.stack([np.cos(ang), np.sin(ang), np.zeros(n)], 1)
    return nrm * [r, r, 0] + np.stack([np.zeros(n), np.zeros(n), z], 1), nrm


def _cone_side(n, rng, r, z0, h):
    """Lateral surface of a cone, base radius r at z0, apex at z0 + h (area-uniform: radius ~ sqrt)."""
    s = np.sqrt(rng.random(n))                 # fraction of the way from apex to base
    ang = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([s * r * np.cos(ang), s * r * np.sin(ang), z0 + h * (1 - s)], 1)
    nrm = _unit(np.stack([h * np.cos(ang), h * np.sin(ang), np.full(n, r)], 1))
    return pts, nrm


def _torus(n, rng, big, small):
    out_p, out_n = [], []
    got = 0
    while got < n:
        th, ph = rng.uniform(0, 2 * np.pi, 2 * n), rng.uniform(0, 2 * np.pi, 2 * n)
        keep = rng.random(2 * n) < (big + small * np.cos(ph)) / (big + small)   # area element
        th, ph = th[keep], ph[keep]
        nrm = np.stack([np.cos(ph) * np.cos(th), np.cos(ph) * np.sin(th), np.sin(ph)], 1)
        pts = np.stack([(big + small * np.cos(ph)) * np.cos(th), (big + small * np.cos(ph)) * np.sin(th),
                        small * np.sin(ph)], 1)
        out_p.append(pts), out_n.append(nrm)
        got += len(pts)
    return np.concatenate(out_p)[:n], np.concatenate(out_n)[:n]


def _triangles(n, rng, tri):
    """Area-uniform samples on triangles ``tri`` (k, 3, 3); normals by the right-hand rule."""
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    cross = np.cross(e1, e2)
    area = np.linalg.norm(cross, axis=1) / 2
    if not np.isfinite(area).all() or area.sum() <= 0:
        raise InputError("the mesh has no surface area (all faces degenerate); check the file")
    which = rng.choice(len(tri), n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    pts = (tri[which, 0] * (1 - r1)[:, None] + tri[which, 1] * (r1 * (1 - r2))[:, None]
           + tri[which, 2] * (r1 * r2)[:, None])
    nrm = cross[which] / np.maximum(np.linalg.norm(cross[which], axis=1, keepdims=True), 1e-12)
    return pts, nrm


def _pyramid(n, rng, a, h):
    base = np.array([[a, a, 0], [-a, a, 0], [-a, -a, 0], [a, -a, 0]], float)
    apex = np.array([0, 0, h], float)
    tri = [np.stack([base[i], base[(i + 1) % 4], apex]) for i in range(4)]
    tri += [np.stack([base[0], base[2], base[1]]), np.stack([base[0], base[3], base[2]])]   # base faces down
    return _triangles(n, rng, np.stack(tri))


def _compose(n, rng, parts):
    """Sample ``n`` points over several parts in proportion to their areas; parts are (area, sampler)."""
    area = np.array([a for a, _ in parts])
    counts = rng.multinomial(n, area / area.sum())
    got = [f(k) for (_, f), k in zip(parts, counts) if k]
    return np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])


def _box_area(half):
    x, y, z = half
    return 8 * (x * y + y * z + x * z)


def shape_surface(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` area-uniform surface points and outward unit normals of class ``name`` (canonical pose)."""
    if name == "sphere":
        return _sphere(n, rng)
    if name == "box":
        return _box(n, rng, (0.7, 0.5, 0.4))
    if name == "cylinder":
        r, h = 0.5, 0.8
        return _compose(n, rng, [(2 * np.pi * r * 2 * h, lambda k: _tube(k, rng, r, -h, h)),
                                 (np.pi * r * r, lambda k: _disc(k, rng, r, h, True)),
                                 (np.pi * r * r, lambda k: _disc(k, rng, r, -h, False))])
    if name == "cone":
        r, h = 0.7, 1.4
        return _compose(n, rng, [(np.pi * r * np.hypot(r, h), lambda k: _cone_side(k, rng, r, -h / 2, h)),
                                 (np.pi * r * r, lambda k: _disc(k, rng, r, -h / 2, False))])
    if name == "torus":
        return _torus(n, rng, 0.7, 0.25)
    if name == "pyramid":
        return _pyramid(n, rng, 0.7, 1.0)
    if name == "capsule":
        r, h = 0.4, 0.6
        return _compose(n, rng, [(2 * np.pi * r * 2 * h, lambda k: _tube(k, rng, r, -h, h)),
                                 (2 * np.pi * r * r, lambda k: _sphere(k, rng, r, (0, 0, h), zmin=0)),
                                 (2 * np.pi * r * r, lambda k: _sphere(k, rng, r, (0, 0, -h), zmax=0))])
    if name == "table":
        top, leg = (0.8, 0.5, 0.04), (0.04, 0.04, 0.35)
        parts = [(_box_area(top), lambda k: _box(k, rng, top, (0, 0, 0.35)))]
        parts += [(_box_area(leg), lambda k, c=c: _box(k, rng, leg, c))
                  for c in [(sx * 0.7, sy * 0.4, -0.04) for sx in (1, -1) for sy in (1, -1)]]
        return _compose(n, rng, parts)
    if name == "chair":
        seat, back, leg = (0.4, 0.4, 0.04), (0.04, 0.4, 0.4), (0.035, 0.035, 0.3)
        parts = [(_box_area(seat), lambda k: _box(k, rng, seat, (0, 0, 0))),
                 (_box_area(back), lambda k: _box(k, rng, back, (-0.36, 0, 0.44)))]
        parts += [(_box_area(leg), lambda k, c=c: _box(k, rng, leg, c))
                  for c in [(sx * 0.34, sy * 0.34, -0.34) for sx in (1, -1) for sy in (1, -1)]]
        return _compose(n, rng, parts)
    if name == "lamp":
        return _compose(n, rng, [
            (2 * np.pi * 0.4 * 0.05 * 2 + np.pi * 0.16, lambda k: _compose(k, rng, [
                (2 * np.pi * 0.4 * 0.1, lambda j: _tube(j, rng, 0.4, -0.8, -0.7)),
                (np.pi * 0.16, lambda j: _disc(j, rng, 0.4, -0.7, True))])),
            (2 * np.pi * 0.04 * 1.1, lambda k: _tube(k, rng, 0.04, -0.7, 0.4)),
            (np.pi * 0.5 * np.hypot(0.5, 0.5), lambda k: _cone_side(k, rng, 0.5, 0.2, 0.5))])
    raise InputError(f"unknown shape {name!r}; use one of {', '.join(CLASSES)}")


# --------------------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class CloudParams:
    """Augmentations of a synthetic cloud.

    points: points kept per cloud; oversample: points drawn on the surface before occlusion and dropout;
    scale: range of the independent per-axis scale; jitter: Gaussian sigma (unit-sphere units);
    dropout: maximum fraction of points dropped at random; occlusion: keep only the side seen from one random
    viewpoint; elevation: range of the viewpoint's elevation (degrees).
    """
    points: int = 512
    oversample: int = 2048
    scale: tuple[float, float] = (0.7, 1.3)
    jitter: float = 0.01
    dropout: float = 0.2
    occlusion: bool = True
    elevation: tuple[float, float] = (-10.0, 50.0)


def normalise(points: np.ndarray) -> np.ndarray:
    """Centre on the centroid and scale into the unit sphere."""
    p = points - points.mean(0)
    r = np.linalg.norm(p, axis=1).max()
    return p / r if r > 0 else p


def visible_side(points: np.ndarray, normals: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Boolean mask of the points whose surface faces ``eye`` (back-face culling: a single view)."""
    return np.einsum("ij,ij->i", normals, eye - points) > 0


def synth_cloud(label: int, params: CloudParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented cloud of class ``CLASSES[label]``: (points, normals), ``params.points`` of each."""
    p = params
    pts, nrm = shape_surface(CLASSES[label], p.oversample, rng)
    s = rng.uniform(*p.scale, 3)
    pts = pts * s
    nrm = _unit(nrm / s)           # normals transform with the inverse transpose of the scaling
    a = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    pts, nrm = pts @ rot.T, nrm @ rot.T
    keep = np.ones(len(pts), bool)
    if p.occlusion:
        az, el = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(*p.elevation))
        eye = 4.0 * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        keep &= visible_side(pts, nrm, eye)
    if p.dropout > 0:
        keep &= rng.random(len(pts)) >= rng.uniform(0, p.dropout)
    if not keep.any():
        keep[:] = True
    pts, nrm = pts[keep], nrm[keep]
    idx = rng.choice(len(pts), p.points, replace=len(pts) < p.points)
    pts, nrm = normalise(pts[idx]), nrm[idx]
    pts = pts + p.jitter * rng.standard_normal(pts.shape)
    return pts.astype(np.float32), nrm.astype(np.float32)


# ---------------------------------------------------------------------------------------------- mesh files
def sample_mesh(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` area-uniform points and face normals on a triangle mesh (vertices (V, 3), faces (F, 3) indices)."""
    return _triangles(n, rng, np.asarray(vertices, float)[np.asarray(faces)])


def _triangulate(polys: list[list[int]]) -> np.ndarray:
    tris = [(poly[0], poly[i], poly[i + 1]) for poly in polys for i in range(1, len(poly) - 1)]
    return np.array(tris, dtype=np.int64).reshape(-1, 3)


def _check_mesh(path, verts, faces):
    if not np.isfinite(verts).all():
        raise InputError(f"{path}: vertex coordinates are not all finite numbers")
    if faces.size and (faces.min() < 0 or faces.max() >= len(verts)):
        raise InputError(f"{path}: a face refers to vertex {faces.max() if faces.max() >= len(verts) else faces.min()}"
                         f" but the file has {len(verts)} vertices (0..{len(verts) - 1})")
    return verts, faces


def read_off(path) -> tuple[np.ndarray, np.ndarray]:
    """Read an OFF mesh (ModelNet's format): (vertices (V, 3) float, triangles (F, 3) int; polygons are fanned).

    ModelNet's known quirk, the counts glued to the header (``OFF490 518 0``), is accepted.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="strict")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, OSError) as err:
        raise InputError(f"{path}: not a text OFF file ({err.__class__.__name__})") from None
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or not lines[0].startswith("OFF"):
        raise InputError(f"{path}: not an OFF file (the first line must start with 'OFF')")
    head = lines[0][3:].split()
    rest = lines[1:]
    if not head:
        if not rest:
            raise InputError(f"{path}: the OFF header lacks the counts line 'V F E'")
        head, rest = rest[0].split(), rest[1:]
    try:
        nv, nf = int(head[0]), int(head[1])
    except (ValueError, IndexError):
        raise InputError(f"{path}: the counts line must be 'vertices faces edges', got {' '.join(head)!r}") from None
    if nv <= 0 or nf < 0:
        raise InputError(f"{path}: {nv} vertices and {nf} faces; a mesh needs vertices")
    if len(rest) < nv + nf:
        raise InputError(f"{path}: the header promises {nv} vertices and {nf} faces but the file has only "
                         f"{len(rest)} data lines (truncated?)")
    try:
        verts = np.array([[float(x) for x in ln.split()[:3]] for ln in rest[:nv]])
        polys = []
        for ln in rest[nv:nv + nf]:
            vals = [int(x) for x in ln.split()]
            if len(vals) < 4 or len(vals) < vals[0] + 1:
                raise ValueError(ln)
            polys.append(vals[1:vals[0] + 1])
    except ValueError as err:
        raise InputError(f"{path}: malformed vertex or face line ({err})") from None
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise InputError(f"{path}: every vertex line needs x y z")
    return _check_mesh(path, verts, _triangulate(polys))


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_ply(path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a PLY file (ascii or binary): (vertices (V, 3), triangles (F, 3) or empty, normals (V, 3) or None)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    if not data.startswith(b"ply"):
        raise InputError(f"{path}: not a PLY file (it must start with 'ply')")
    end = data.find(b"end_header")
    if end < 0:
        raise InputError(f"{path}: the PLY header has no 'end_header' line")
    body_start = data.index(b"\n", end) + 1 if b"\n" in data[end:] else len(data)
    header = data[:end].decode("ascii", errors="replace").splitlines()
    fmt, elements = None, []
    for ln in header[1:]:
        w = ln.split()
        if not w or w[0] in ("comment", "obj_info"):
            continue
        if w[0] == "format" and len(w) >= 2:
            fmt = w[1]
        elif w[0] == "element" and len(w) == 3:
            elements.append((w[1], int(w[2]), []))
        elif w[0] == "property" and elements:
            if w[1] == "list" and len(w) == 5:
                elements[-1][2].append((w[4], ("list", w[2], w[3])))
            elif len(w) == 3 and w[1] in _PLY_TYPES:
                elements[-1][2].append((w[2], _PLY_TYPES[w[1]]))
            else:
                raise InputError(f"{path}: unsupported PLY property line {ln!r}")
        else:
            raise InputError(f"{path}: malformed PLY header line {ln!r}")
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InputError(f"{path}: unknown PLY format {fmt!r}; use ascii or binary_little/big_endian")
    names = [e[0] for e in elements]
    if "vertex" not in names:
        raise InputError(f"{path}: the PLY file has no 'vertex' element")
    vprops = [p[0] for p in elements[names.index("vertex")][2]]
    if not {"x", "y", "z"} <= set(vprops):
        raise InputError(f"{path}: vertices need properties x, y, z (found {', '.join(vprops)})")
    body = data[body_start:]
    out = {}
    try:
        if fmt == "ascii":
            tokens = body.split()
            pos = 0
            for name, count, props in elements:
                rows = []
                for _ in range(count):
                    row = []
                    for _, typ in props:
                        if isinstance(typ, tuple):
                            k = int(tokens[pos])
                            row.append([int(t) for t in tokens[pos + 1:pos + 1 + k]])
                            if len(row[-1]) != k:
                                raise IndexError
                            pos += 1 + k
                        else:
                            row.append(float(tokens[pos]))
                            pos += 1
                    rows.append(row)
                out[name] = rows
        else:
            order = "<" if fmt == "binary_little_endian" else ">"
            pos = 0
            for name, count, props in elements:
                if all(not isinstance(t, tuple) for _, t in props):
                    dt = np.dtype([(p, order + t) for p, t in props])
                    if pos + dt.itemsize * count > len(body):
                        raise IndexError
                    arr = np.frombuffer(body, dt, count, pos)
                    pos += dt.itemsize * count
                    out[name] = [[arr[p][i] for p, _ in props] for i in range(count)] if name != "vertex" else arr
                else:
                    rows = []
                    for _ in range(count):
                        row = []
                        for _, typ in props:
                            if isinstance(typ, tuple):
                                ct, it = np.dtype(order + _PLY_TYPES[typ[1]]), np.dtype(order + _PLY_TYPES[typ[2]])
                                k = int(np.frombuffer(body, ct, 1, pos)[0])
                                pos += ct.itemsize
                                if pos + it.itemsize * k > len(body):
                                    raise IndexError
                                row.append(np.frombuffer(body, it, k, pos).tolist())
                                pos += it.itemsize * k
                            else:
                                t = np.dtype(order + typ)
                                if pos + t.itemsize > len(body):
                                    raise IndexError
                                row.append(np.frombuffer(body, t, 1, pos)[0])
                                pos += t.itemsize
                        rows.append(row)
                    out[name] = rows
    except (IndexError, ValueError, KeyError):
        raise InputError(f"{path}: the PLY body is shorter than its header says or malformed (truncated file?)") \
            from None
    v = out["vertex"]
    if isinstance(v, np.ndarray):
        verts = np.stack([v["x"], v["y"], v["z"]], 1).astype(float)
        normals = np.stack([v["nx"], v["ny"], v["nz"]], 1).astype(float) if "nx" in vprops else None
    else:
        ix = [vprops.index(c) for c in ("x", "y", "z")]
        verts = np.array([[r[i] for i in ix] for r in v], dtype=float).reshape(-1, 3)
        normals = None
        if {"nx", "ny", "nz"} <= set(vprops):
            jx = [vprops.index(c) for c in ("nx", "ny", "nz")]
            normals = np.array([[r[i] for i in jx] for r in v], dtype=float).reshape(-1, 3)
    faces = np.zeros((0, 3), np.int64)
    if "face" in out:
        fprops = elements[names.index("face")][2]
        li = [i for i, (_, t) in enumerate(fprops) if isinstance(t, tuple)]
        if not li:
            raise InputError(f"{path}: the face element has no vertex index list")
        polys = [list(r[li[0]]) for r in out["face"]]
        if any(len(p) < 3 for p in polys):
            raise InputError(f"{path}: a face has fewer than 3 vertices")
        faces = _triangulate(polys)
    verts, faces = _check_mesh(path, verts, faces)
    return verts, faces, normals


def read_cloud(path, n: int = 512, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A normalised cloud (points, normals) of ``n`` points from an OFF or PLY file (meshes are area-sampled)."""
    path = Path(path)
    rng = rng or np.random.default_rng(0)
    suffix = path.suffix.lower()
    if suffix == ".off":
        verts, faces = read_off(path)
        normals = None
    elif suffix == ".ply":
        verts, faces, normals = read_ply(path)
    else:
        raise InputError(f"{path}: unknown point-cloud file type {path.suffix!r}; use .off or .ply")
    if len(faces):
        pts, nrm = sample_mesh(verts, faces, n, rng)
    else:
        if normals is None:
            raise InputError(f"{path}: a PLY point cloud without faces needs per-vertex normals nx, ny, nz")
        idx = rng.choice(len(verts), n, replace=len(verts) < n)
        pts, nrm = verts[idx], _unit(normals[idx])
    return normalise(pts).astype(np.float32), nrm.astype(np.float32)
