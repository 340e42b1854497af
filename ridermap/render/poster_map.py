"""Poster part: the map drawing.

:func:`project` puts the compound on a local UTM plane, turned so that "up"
is the direction a reader at the gate faces; :func:`map_frame` picks the
round scale that fits the map block and its reference grid; :func:`draw_map`
draws areas, paths, buildings, outline and grid lines, and
:func:`draw_symbols` the point symbols (facilities, unit doors, gates, you
are here), returning where each landed as :class:`Symbol` boxes for the
label placer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from matplotlib.patches import Rectangle
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ridermap.model.bundle import Bundle
from ridermap.render.poster_content import gate_key
from ridermap.render.poster_grid import Grid, make_grid, nice_scale
from ridermap.render.poster_labels import LabelFitError
from ridermap.render.poster_page import PT_PER_MM, Box, Page, line_parts, panel_request
from ridermap.render.poster_style import Area, Line, Marker, PosterStyle
from ridermap.utm import utm_epsg

#: a gate farther than this from its compound's outline is kept off the map's
#: extent (validation reports it as misplaced); its poster says how far it is
FAR_GATE_M = 300.0


@lru_cache(maxsize=64)
def utm_crs(lon: float, lat: float):
    """WGS84 UTM zone of a point (what ``estimate_utm_crs`` gives, without its slow database query)."""
    from pyproj import CRS

    return CRS.from_epsg(utm_epsg(lon, lat))


def facing_vector(gate: Point, polygon: BaseGeometry) -> tuple[float, float]:
    """Unit vector (projected metres) a reader at ``gate`` faces when looking into ``polygon``.

    The inward normal of the boundary at the gate; the direction to the
    compound's centre when the gate is far from the boundary.
    """
    boundary = polygon.boundary
    centre = polygon.representative_point() if polygon.area else polygon.centroid
    if gate.distance(boundary) <= 40.0 and boundary.length > 0:
        d = boundary.project(gate)
        a = boundary.interpolate(max(d - 5.0, 0.0))
        b = boundary.interpolate(min(d + 5.0, boundary.length))
        tx, ty = b.x - a.x, b.y - a.y
        norm = math.hypot(tx, ty)
        if norm > 1e-6:
            nx, ny = -ty / norm, tx / norm
            foot = boundary.interpolate(d)
            probe = Point(foot.x + 3.0 * nx, foot.y + 3.0 * ny)
            if not polygon.contains(probe):
                nx, ny = -nx, -ny
            return nx, ny
    dx, dy = centre.x - gate.x, centre.y - gate.y
    norm = math.hypot(dx, dy)
    return (dx / norm, dy / norm) if norm > 1e-6 else (0.0, 1.0)


def affine(theta: float, scale: int, centre_m: tuple[float, float], centre_mm: tuple[float, float]) -> list[float]:
    """shapely affine matrix: rotate by ``theta`` around ``centre_m`` then scale metres to paper mm."""
    k = 1000.0 / scale
    c, s = math.cos(theta), math.sin(theta)
    a, b, d, e = k * c, -k * s, k * s, k * c
    xoff = centre_mm[0] - (a * centre_m[0] + b * centre_m[1])
    yoff = centre_mm[1] - (d * centre_m[0] + e * centre_m[1])
    return [a, b, d, e, xoff, yoff]


@dataclass(frozen=True)
class Symbol:
    """A point symbol drawn on the map: what, for which feature, and its box in page mm."""

    kind: str
    key: str
    box: Box


@dataclass(frozen=True)
class Geo:
    """The compound on the projected plane and how it turns onto the page."""

    layers: dict
    poly_m: BaseGeometry
    gate_row: Any
    theta: float
    north_deg: float
    near: BaseGeometry
    centroid: tuple[float, float]
    centre_m: tuple[float, float]
    ext_w: float
    ext_h: float
    #: gates farther than FAR_GATE_M from the compound (id -> metres): left off the map's extent
    far_gates: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Marks:
    """The symbols drawn on the map and where the point layers fell on the page."""

    symbols: list
    fok: np.ndarray
    gxy: np.ndarray
    gok: np.ndarray
    uxy: np.ndarray
    uok: np.ndarray
    here_xy: np.ndarray | None


@dataclass(frozen=True)
class _Base:
    """What every poster of a compound starts from, whichever way it faces (made once per compound)."""

    layers: dict
    poly_m: BaseGeometry
    north: tuple[float, float]  # true north on the projected plane (a vector)
    near: BaseGeometry
    must: BaseGeometry  # what must be on the map, unrotated
    far_gates: dict


def _base(view: Bundle, cid: str) -> _Base:
    """The compound's layers in its UTM zone, true north there, and what must be on every one of its maps."""
    lon, lat = view.communities.geometry.iloc[0].representative_point().coords[0]
    utm = utm_crs(lon, lat)
    layers = {k: v.to_crs(utm) for k, v in view.layers().items()}
    north = gpd.GeoSeries([Point(lon, lat), Point(lon, lat + 0.001)], crs=view.communities.crs).to_crs(utm)
    poly_m = layers["communities"].geometry.iloc[0]
    # what must be on the map: the compound and everything of it, facilities just around it
    near = poly_m.buffer(50.0)
    fac = layers["facilities"]
    gates = layers["gates"]
    gate_d = gates.distance(poly_m).to_numpy() if len(gates) else np.zeros(0)
    far = gate_d > FAR_GATE_M  # a misplaced gate must not shrink the whole map to a dot
    must = [
        poly_m,
        *layers["buildings"].geometry,
        *gates.geometry[~far],
        *layers["units"].geometry,
        *fac[((fac["community_id"] == cid) & (fac.distance(poly_m) <= FAR_GATE_M)) | fac.intersects(near)].geometry,
    ]
    return _Base(
        layers,
        poly_m,
        (north.iloc[1].x - north.iloc[0].x, north.iloc[1].y - north.iloc[0].y),
        near,
        shapely.GeometryCollection([g for g in must if g is not None]),
        {str(i): float(d) for i, d in zip(gates["id"][far], gate_d[far])},
    )


def project(view: Bundle, cid: str, gate_id: str | None) -> Geo:
    """Project to UTM, face the map the way the rider faces at the gate, and find what must be on it."""
    base = view.memo(f"poster base:{cid}", lambda: _base(view, cid))  # the compound's posters share it
    layers, poly_m = dict(base.layers), base.poly_m
    gate_row = None
    if gate_id is not None:
        gate_row = layers["gates"][layers["gates"]["id"] == gate_id].iloc[0]
        fx, fy = facing_vector(gate_row.geometry, poly_m)
        theta = math.pi / 2 - math.atan2(fy, fx)
    else:
        theta = 0.0
    north_deg = math.degrees(math.atan2(base.north[1], base.north[0]) + theta) - 90.0  # ccw from page up
    extent = shapely.affinity.rotate(base.must, theta, origin=poly_m.centroid, use_radians=True)
    ex0, ey0, ex1, ey1 = extent.bounds
    rot_centre = ((ex0 + ex1) / 2, (ey0 + ey1) / 2)
    # rotation is about the compound centroid; the centre of the rotated extent maps back to:
    c, s = math.cos(-theta), math.sin(-theta)
    cx0, cy0 = poly_m.centroid.x, poly_m.centroid.y
    centre_m = (
        cx0 + c * (rot_centre[0] - cx0) - s * (rot_centre[1] - cy0),
        cy0 + s * (rot_centre[0] - cx0) + c * (rot_centre[1] - cy0),
    )
    ext_w, ext_h = max(ex1 - ex0, 1.0), max(ey1 - ey0, 1.0)
    return Geo(
        layers, poly_m, gate_row, theta, north_deg, base.near, (cx0, cy0), centre_m, ext_w, ext_h, dict(base.far_gates)
    )


def map_frame(geo: Geo, map_block: Box, *, band: float, strip_h: float, style: PosterStyle, f: float):
    """The map frame inside its block, the scale that fits the extent in it, its grid and the affine matrix."""
    frame = (map_block[0] + band, map_block[1] + strip_h + band, map_block[2] - band, map_block[3] - band)
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]
    if fw < 40 or fh < 40:
        raise LabelFitError("no room left for the map", panel_request())
    pad = 10.0 * f
    scale = nice_scale(max(geo.ext_w * 1000.0 / max(fw - 2 * pad, 1.0), geo.ext_h * 1000.0 / max(fh - 2 * pad, 1.0)))
    grid = make_grid(frame, scale=scale, square_mm=style.grid_square_mm)
    matrix = affine(geo.theta, scale, geo.centre_m, ((frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2))
    return frame, scale, grid, matrix


def clip(gs: gpd.GeoSeries, frame: Box) -> gpd.GeoSeries:
    return gs.clip_by_rect(*frame)


def draw_map(
    page: Page,
    layers: dict,
    cid: str,
    matrix: list[float],
    frame: Box,
    grid: Grid,
    style: PosterStyle,
    f: float,
    *,
    grid_lines: bool = True,
):
    """Paper, compound, paths, buildings, outline, grid lines and frame; returns (comp_mm, b_mm, drawn keys).

    ``grid_lines=False`` leaves the grid out (an inset: its squares would not be the main map's).
    """
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]
    page.add(Rectangle((frame[0], frame[1]), fw, fh, facecolor=style.paper_face, edgecolor="none", zorder=0.5))
    comp_mm = layers["communities"].geometry.affine_transform(matrix)
    page.area(clip(comp_mm, frame), Area(style.compound.face, "none", 0.0), zorder=2)
    paths = layers["paths"]
    paths_mm = clip(paths.geometry.affine_transform(matrix), frame)
    inside = (paths["community_id"] == cid).to_numpy()
    rideable = paths["rideable"].to_numpy(dtype=bool)
    legend_drawn: list[str] = []
    for mask, line_style, key, z in (
        (~inside & rideable, style.street, "street", 3),
        (~inside & ~rideable, style.street_footway, "street_footway", 3.2),
        (inside & ~rideable, style.walk_only, "walk_only", 4),
        (inside & rideable, style.rideable, "rideable", 4.5),
    ):
        parts = line_parts(paths_mm[mask])
        if parts:
            page.lines(parts, line_style, zorder=z)
            legend_drawn.append(key)
    b_mm = layers["buildings"].geometry.affine_transform(matrix)
    if len(b_mm):
        page.area(clip(b_mm, frame), style.building, zorder=5)
        legend_drawn.append("building")
    outline = line_parts(clip(comp_mm.boundary, frame))
    page.lines(outline, Line(style.compound.edge, style.compound.edge_mm), zorder=6)
    legend_drawn.insert(0, "compound")
    if grid_lines:  # grid over the map
        gl = [np.array([[x, frame[1]], [x, frame[3]]]) for x in grid.x_lines()]
        gl += [np.array([[frame[0], y], [frame[2], y]]) for y in grid.y_lines()]
        page.lines(gl, style.grid, zorder=7)
    page.add(
        Rectangle(
            (frame[0], frame[1]),
            fw,
            fh,
            facecolor="none",
            edgecolor=style.ink,
            linewidth=0.5 * f * PT_PER_MM,
            zorder=40,
        )
    )
    return comp_mm, b_mm, legend_drawn


def add_symbols(
    page: Page,
    symbols: list[Symbol],
    xy: np.ndarray,
    keys: list[str],
    m: Marker,
    kind: str,
    z: float,
    f: float,
    scale_: float = 1.0,
) -> None:
    if not len(xy):
        return
    page.marker(xy[:, 0], xy[:, 1], m, zorder=z, scale=scale_, gid=kind)
    half = (m.size_mm * scale_ + m.edge_mm) * f / 2
    for (x, y), k in zip(xy, keys):
        symbols.append(Symbol(kind, k, (x - half, y - half, x + half, y + half)))


def points_in_frame(gs: gpd.GeoSeries, frame: Box) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array([(p.x, p.y) if p is not None and not p.is_empty else (np.nan, np.nan) for p in gs]).reshape(-1, 2)
    ok = (xy[:, 0] >= frame[0]) & (xy[:, 0] <= frame[2]) & (xy[:, 1] >= frame[1]) & (xy[:, 1] <= frame[3])
    return xy, ok


def draw_symbols(
    page: Page,
    layers: dict,
    gate_id: str | None,
    matrix: list[float],
    frame: Box,
    style: PosterStyle,
    f: float,
    legend_drawn: list[str],
) -> Marks:
    """Facilities, unit doors, gates and the you-are-here mark; appends what it drew to ``legend_drawn``."""
    symbols: list[Symbol] = []
    fac = layers["facilities"]
    units = layers["units"]
    gates = layers["gates"]
    fxy, fok = points_in_frame(fac.geometry.affine_transform(matrix), frame)
    fac_kind, fac_id = fac["kind"].to_numpy(dtype=object), fac["id"].to_numpy(dtype=object)
    for kind in style.facilities:
        mask = fok & (fac_kind == kind)
        if mask.any():
            add_symbols(page, symbols, fxy[mask], list(fac_id[mask]), style.facilities[kind], f"facility:{kind}", 14, f)
            legend_drawn.append(f"facility:{kind}")
    uxy, uok = points_in_frame(units.geometry.affine_transform(matrix), frame)
    if uok.any():
        add_symbols(
            page, symbols, uxy[uok], list(units["id"].to_numpy(dtype=object)[uok]), style.unit_door, "unit_door", 15, f
        )
        legend_drawn.append("unit_door")
    gxy, gok = points_in_frame(gates.geometry.affine_transform(matrix), frame)
    gate_ids = gates["id"].to_numpy(dtype=object)
    gate_keys = np.array(
        [gate_key({"inferred": i, "rider_access": a}) for i, a in zip(gates["inferred"], gates["rider_access"])],
        dtype=object,
    )
    for access in ("ride", "walk", "none", "unknown"):
        mask = gok & (gate_keys == access)
        if mask.any():
            add_symbols(page, symbols, gxy[mask], list(gate_ids[mask]), style.gates[access], f"gate:{access}", 16, f)
            legend_drawn.append(f"gate:{access}")
    here_xy = None
    i = int(np.flatnonzero(gate_ids == gate_id)[0]) if gate_id is not None else -1
    if gate_id is not None and gok[i]:  # a gate far off the map has no "you are here" on it
        page.here_key = str(gate_keys[i])
        here_xy = gxy[i]
        add_symbols(page, symbols, here_xy.reshape(1, 2), [gate_id], style.here, "here", 15.5, f)
        legend_drawn.append("here")
    return Marks(symbols, fok, gxy, gok, uxy, uok, here_xy)


def draw_sign_posts(
    page: Page,
    posts: tuple[tuple[str, float, float], ...],
    layers: dict,
    matrix: list[float],
    frame: Box,
    style: PosterStyle,
    f: float,
    symbols: list[Symbol],
    legend_drawn: list[str],
) -> None:
    """The junction sign posts of the signage plan, each a disc with its id, kept clear of by the labels."""
    pts = gpd.GeoSeries([Point(lon, lat) for _, lon, lat in posts], crs="EPSG:4326").to_crs(layers["communities"].crs)
    xy, ok = points_in_frame(pts.affine_transform(matrix), frame)
    if not ok.any():
        return
    keys = [pid for (pid, _, _), inside in zip(posts, ok) if inside]
    add_symbols(page, symbols, xy[ok], keys, style.sign_post, "sign", 17, f)
    for (x, y), pid in zip(xy[ok], keys):
        page.text(
            x,
            y,
            pid,
            style.sign_post.size_mm * f * 0.3,
            color="#ffffff",
            ha="center",
            va="center",
            zorder=17.5,
            gid=f"sign:{pid}",
        )
    legend_drawn.append("sign")
