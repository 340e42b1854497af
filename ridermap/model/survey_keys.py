"""Survey keys and position marks: short names a grid worker can write instead of coordinates.

* :func:`assign_keys` gives every building, gate and unit door of a compound a
  short ``survey_key``: buildings ``B01``, ``B02`` … (zero-padded to two
  digits, more when a compound has 100 or more), gates ``G1``, ``G2`` …, unit
  doors ``U07-1``, ``U07-2`` … (the doors of building ``B07``). Keys are
  numbered in a geometric order (north to south, then west to east, by the
  feature's representative point rounded to 1 m in the compound's UTM zone;
  ties by source), never by row order, so the same OSM data gives the same
  keys on every run. A feature that already has a key keeps it; features
  added later (by a survey) get the next free number.
* :func:`outline_marks` puts marks ``S1``, ``S2`` … every ~15 m along a
  compound outline, clockwise from its northernmost vertex.
* :func:`building_side_marks` puts marks along the two longer sides of a
  building, named by the building key, the compass side the wall faces and
  the order along it: ``B07 南 2`` (west to east along a wall facing north or
  south, north to south along a wall facing east or west).

Pure functions of a :class:`~ridermap.model.bundle.Bundle`; nothing here
touches the disk.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS as ProjCRS
from pyproj import Transformer

from ridermap.model.bundle import Bundle
from ridermap.model.finalise import side_name
from ridermap.model.schema import CRS
from ridermap.utm import utm_epsg

log = logging.getLogger(__name__)

OUTLINE_SPACING_M = 15.0
SIDE_SPACING_M = 5.0
_BUILDING_KEY = re.compile(r"^B(\d+)$")
_GATE_KEY = re.compile(r"^G(\d+)$")
_UNIT_KEY = re.compile(r"^U(\d+)-(\d+)$")
_OUTLINE_MARK = re.compile(r"^S(\d+)$")
_SIDE_MARK = re.compile(r"^(B\d+)\s*(东北|东南|西北|西南|东|南|西|北)\s*(\d+)$")
MARK_COLUMNS = ("mark", "community_id", "building_id", "side", "order", "nx", "ny")


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Metric:
    """One UTM projection for a whole compound (estimated once from its outline)."""

    epsg: int

    @classmethod
    def for_geometry(cls, geom) -> Metric:
        p = geom.representative_point()
        return cls(utm_epsg(p.x, p.y))

    def forward(self, geoms) -> np.ndarray:
        return shapely.transform(
            np.asarray(geoms, dtype=object), _transformer(self.epsg, True).transform, interleaved=False
        )

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        """``(n, 2)`` metric coordinates -> ``(n, 2)`` lon/lat."""
        if not len(xy):
            return np.empty((0, 2))
        lon, lat = _transformer(self.epsg, False).transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])


@lru_cache(maxsize=16)
def _transformer(epsg: int, forward: bool) -> Transformer:
    utm = ProjCRS.from_epsg(epsg)
    src, dst = (CRS, utm) if forward else (utm, CRS)
    return Transformer.from_crs(src, dst, always_xy=True)


def compound_metric(bundle: Bundle, community_id: str) -> Metric:
    comm = bundle.communities[bundle.communities["id"] == community_id]
    if comm.empty:
        raise KeyError(community_id)
    return Metric.for_geometry(comm.geometry.iloc[0])


# --------------------------------------------------------------------------- keys


def _order(points_m: np.ndarray, sources: list[str]) -> list[int]:
    """Indices north to south, then west to east (1 m rounding), ties by source."""
    ys = np.round(points_m[:, 1]).astype(np.int64) if len(points_m) else np.zeros(0, dtype=np.int64)
    xs = np.round(points_m[:, 0]).astype(np.int64) if len(points_m) else np.zeros(0, dtype=np.int64)
    return sorted(range(len(sources)), key=lambda i: (-int(ys[i]), int(xs[i]), sources[i]))


def _rep_points(metric: Metric, geoms) -> np.ndarray:
    pts = shapely.point_on_surface(metric.forward(list(geoms)))
    return shapely.get_coordinates(pts) if len(pts) else np.empty((0, 2))


def _key_number(pattern: re.Pattern, key: str) -> int | None:
    m = pattern.match(key or "")
    return int(m.group(1)) if m else None


def _fill(keys: list[str], order: list[int], pattern: re.Pattern, make) -> list[str]:
    """Give rows without a key (in ``order``) the numbers after the highest used."""
    used = [n for n in (_key_number(pattern, k) for k in keys) if n is not None]
    nxt = max(used, default=0) + 1
    out = list(keys)
    for i in order:
        if not out[i]:
            out[i] = make(nxt)
            nxt += 1
    return out


def building_key_width(count: int) -> int:
    """Digits of building keys in a compound of ``count`` buildings (at least 2)."""
    return max(2, len(str(max(count, 1))))


class _Layer:
    """One layer's columns as plain arrays, its rows by compound and its keys (filled in place, written once)."""

    def __init__(self, gdf) -> None:
        self.gdf = gdf
        self.ids = gdf["id"].to_numpy(dtype=object)
        self.sources = gdf["source"].to_numpy(dtype=object)
        self.geoms = gdf.geometry.values
        self.keys = gdf["survey_key"].to_numpy(dtype=object).copy()
        self.buildings = gdf["building_id"].to_numpy(dtype=object) if "building_id" in gdf else None
        self._rows = pd.Series(np.arange(len(gdf))).groupby(gdf["community_id"].to_numpy(), sort=False).indices

    def rows(self, cid: str) -> np.ndarray:
        """Positions of the compound's rows, in row order."""
        return np.sort(self._rows.get(cid, np.zeros(0, dtype=np.intp)))

    def frame(self):
        """The layer with its filled keys (the column's dtype kept)."""
        out = self.gdf.copy()
        out["survey_key"] = pd.Series(self.keys, index=out.index, dtype=self.gdf["survey_key"].dtype)
        return out


def _compound_keys(cid: str, metric: Metric, b: _Layer, g: _Layer, u: _Layer) -> None:
    """Fill the keys of one compound's rows of b, g, u (in their arrays)."""
    bsel = b.rows(cid)
    if len(bsel) and not all(b.keys[bsel]):  # rows with every key already (a second pass) need no order
        keys = list(b.keys[bsel])
        width = building_key_width(len(bsel) + sum(1 for k in keys if k))
        width = max([width] + [len(k) - 1 for k in keys if _key_number(_BUILDING_KEY, k) is not None])
        order = _order(_rep_points(metric, b.geoms[bsel]), list(b.sources[bsel]))
        b.keys[bsel] = _fill(keys, order, _BUILDING_KEY, lambda n: f"B{n:0{width}d}")
    gsel = g.rows(cid)
    if len(gsel) and not all(g.keys[gsel]):
        keys = list(g.keys[gsel])
        order = _order(_rep_points(metric, g.geoms[gsel]), list(g.sources[gsel]))
        g.keys[gsel] = _fill(keys, order, _GATE_KEY, lambda n: f"G{n}")
    bkey = dict(zip(b.ids[bsel], b.keys[bsel]))
    usel = u.rows(cid)
    assert u.buildings is not None
    unit_buildings = u.buildings[usel]
    unit_points = None  # the compound's doors projected at once (each point is its own door's, as one by one)
    for bid in dict.fromkeys(unit_buildings):
        key = bkey.get(bid, "")
        mine = unit_buildings == bid
        rows = usel[mine]
        if not key or all(u.keys[rows]):
            continue
        if unit_points is None:
            unit_points = _rep_points(metric, u.geoms[usel])
        digits = key[1:]
        keys = list(u.keys[rows])
        pts = unit_points[mine]
        # doors along a building: west to east, then north to south
        order = sorted(
            range(len(rows)), key=lambda i: (int(round(pts[i, 0])), -int(round(pts[i, 1])), u.sources[rows[i]])
        )
        pattern = re.compile(rf"^U{digits}-(\d+)$")
        u.keys[rows] = _fill(keys, order, pattern, lambda n, digits=digits: f"U{digits}-{n}")


def assign_keys(bundle: Bundle) -> Bundle:
    """Fill ``survey_key`` where it is empty (see the module docstring).

    Each layer is grouped by compound once and its keys written back once,
    so the time grows with the number of features, not with their square.

    Parameters
    ----------
    bundle
        Any bundle; features outside every compound get no key.

    Returns
    -------
    Bundle
        A copy with keys filled; existing keys are kept.
    """
    b, g, u = _Layer(bundle.buildings), _Layer(bundle.gates), _Layer(bundle.units)
    for cid, geom in zip(bundle.communities["id"], bundle.communities.geometry):
        if geom is None or geom.is_empty:
            continue
        _compound_keys(cid, Metric.for_geometry(geom), b, g, u)
    return bundle.replace(buildings=b.frame(), gates=g.frame(), units=u.frame())


# --------------------------------------------------------------------------- marks


def _marks_frame(rows: list[dict], metric: Metric) -> gpd.GeoDataFrame:
    xy = np.array([[r.pop("x"), r.pop("y")] for r in rows], dtype=float).reshape(-1, 2)
    lonlat = metric.inverse(xy)
    data = {c: [r[c] for r in rows] for c in MARK_COLUMNS}
    return gpd.GeoDataFrame(data, geometry=shapely.points(lonlat) if len(lonlat) else [], crs=CRS)


def _main_polygon(geom):
    return max(getattr(geom, "geoms", [geom]), key=lambda p: p.area)


def outline_marks(bundle: Bundle, community_id: str, *, spacing_m: float = OUTLINE_SPACING_M) -> gpd.GeoDataFrame:
    """Marks ``S1``, ``S2`` … every ~``spacing_m`` along a compound's outline.

    The outline (the largest part of a multipolygon) is walked clockwise from
    its northernmost vertex (westernmost of equals); its length is split into
    equal steps of about ``spacing_m``.

    Returns
    -------
    GeoDataFrame
        Columns :data:`MARK_COLUMNS` (``nx``, ``ny``: outward unit normal in
        metres east/north) and point geometry in WGS84.
    """
    metric = compound_metric(bundle, community_id)
    geom = bundle.communities.loc[bundle.communities["id"] == community_id].geometry.iloc[0]
    poly = shapely.orient_polygons(_main_polygon(metric.forward([geom])[0]), exterior_cw=True)
    coords = np.asarray(poly.exterior.coords)[:-1]
    start = min(range(len(coords)), key=lambda i: (-round(coords[i, 1], 2), round(coords[i, 0], 2)))
    ring = shapely.LineString(np.vstack([coords[start:], coords[:start], coords[start : start + 1]]))
    n = max(1, int(round(ring.length / spacing_m)))
    rows = []
    for k in range(n):
        d = ring.length * k / n
        p = ring.interpolate(d)
        q0, q1 = ring.interpolate(max(d - 0.5, 0.0)), ring.interpolate(min(d + 0.5, ring.length))
        tx, ty = q1.x - q0.x, q1.y - q0.y
        norm = math.hypot(tx, ty) or 1.0
        # clockwise ring: the outside is on the left of the direction of travel
        rows.append(
            {
                "mark": f"S{k + 1}",
                "community_id": community_id,
                "building_id": "",
                "side": "",
                "order": k + 1,
                "nx": -ty / norm,
                "ny": tx / norm,
                "x": p.x,
                "y": p.y,
            }
        )
    return _marks_frame(rows, metric)


def _long_sides(rect) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two longer sides of a rectangle as (start, end) pairs."""
    c = np.asarray(rect.exterior.coords)[:4]
    sides = [(c[i], c[(i + 1) % 4]) for i in range(4)]
    lengths = [float(np.hypot(*(b - a))) for a, b in sides]
    first = 0 if lengths[0] >= lengths[1] else 1
    return [sides[first], sides[first + 2]]


def _wall_point(poly, point: np.ndarray, inward: np.ndarray, depth: float) -> np.ndarray:
    """Where a ray from ``point`` (on the rectangle) going ``inward`` first meets the building wall."""
    ray = shapely.LineString([point, point + inward * depth])
    hit = ray.intersection(poly.exterior)
    pts = shapely.get_coordinates(hit)
    if not len(pts):
        near = shapely.ops.nearest_points(poly.exterior, shapely.Point(point))[0]
        return np.array([near.x, near.y])
    return pts[int(np.argmin(np.hypot(*(pts - point).T)))]


def _side_rows(poly, key: str, bid: str, cid: str, spacing_m: float) -> list[dict]:
    rect = poly.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return []
    centre = np.array(rect.centroid.coords[0])
    depth = math.dist(*np.asarray(rect.exterior.coords)[:2]) + math.dist(*np.asarray(rect.exterior.coords)[1:3])
    rows = []
    for a, b in _long_sides(rect):
        direction = (b - a) / (np.hypot(*(b - a)) or 1.0)
        normal = np.array([direction[1], -direction[0]])
        if np.dot(normal, (a + b) / 2 - centre) < 0:
            normal = -normal
        side = side_name(normal[0], normal[1])
        # order west to east along walls facing north/south, north to south along walls facing east/west
        if abs(direction[0]) >= abs(direction[1]):
            a, b = (a, b) if a[0] <= b[0] else (b, a)
        else:
            a, b = (a, b) if a[1] >= b[1] else (b, a)
        length = float(np.hypot(*(b - a)))
        n = max(1, int(length // spacing_m))
        for k in range(n):
            p = a + (b - a) * (k + 0.5) / n
            w = _wall_point(poly, p, -normal, depth)
            rows.append(
                {
                    "mark": f"{key} {side} {k + 1}",
                    "community_id": cid,
                    "building_id": bid,
                    "side": side,
                    "order": k + 1,
                    "nx": float(normal[0]),
                    "ny": float(normal[1]),
                    "x": w[0],
                    "y": w[1],
                }
            )
    return rows


def building_side_marks(
    bundle: Bundle,
    building_id: str | None = None,
    *,
    community_id: str | None = None,
    spacing_m: float = SIDE_SPACING_M,
) -> gpd.GeoDataFrame:
    """Marks along the two longer sides of one building (or of every keyed building of a compound).

    The sides are those of the building's minimum rotated rectangle; a mark
    sits where the wall is, every ~``spacing_m`` (at least one per side),
    named ``<building key> <side> <order>`` (``B07 南 2``).

    Parameters
    ----------
    building_id
        One building; or ``None`` with ``community_id`` for all of a compound.
    """
    b = bundle.buildings
    if building_id is not None:
        sel = b[b["id"] == building_id]
        if sel.empty:
            raise KeyError(building_id)
        community_id = str(sel["community_id"].iloc[0])
    else:
        sel = b[(b["community_id"] == community_id) & (b["survey_key"] != "")]
    if community_id:
        metric = compound_metric(bundle, community_id)
    else:
        metric = Metric.for_geometry(sel.geometry.iloc[0])
    rows: list[dict] = []
    polys = list(metric.forward(list(sel.geometry.values))) if len(sel) else []
    for poly, key, bid in zip(polys, sel["survey_key"], sel["id"]):
        if poly is None or poly.is_empty or not key:
            continue
        rows.extend(_side_rows(_main_polygon(poly), key, bid, community_id or "", spacing_m))
    return _marks_frame(rows, metric)


def compound_marks(bundle: Bundle, community_id: str) -> gpd.GeoDataFrame:
    """Outline marks and every keyed building's side marks of one compound."""
    import pandas as pd

    frames = [outline_marks(bundle, community_id), building_side_marks(bundle, community_id=community_id)]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)


def normalise_ref(text: object) -> str:
    """A key or mark as typed -> canonical form (full-width folded, spacing fixed).

    >>> normalise_ref("b07南２"), normalise_ref(" s03 "), normalise_ref("u07-2")
    ('B07 南 2', 'S3', 'U07-2')
    """
    s = unicodedata.normalize("NFKC", str(text or "")).strip().upper()
    s = re.sub(r"\s+", " ", s)
    m = _SIDE_MARK.match(s.replace(" ", ""))
    if m:
        return f"{m.group(1)} {m.group(2)} {int(m.group(3))}"
    m = _OUTLINE_MARK.match(s.replace(" ", ""))
    if m:
        return f"S{int(m.group(1))}"
    return s.replace(" ", "")


def same_building_key(a: str, b: str) -> bool:
    """``B7`` and ``B07`` name the same building."""
    na, nb = _key_number(_BUILDING_KEY, a), _key_number(_BUILDING_KEY, b)
    return na is not None and na == nb
