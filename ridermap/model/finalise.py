"""Last step of ingest: fill display fallbacks and make ids unique.

* a gate without a name gets one from its side of the compound (``东南侧出入口``),
* a building with a number but no label gets ``7号楼``; a unit ``2单元``,
* a compound without a rider rule is ``unknown`` (marked inferred, shown as
  待核实): a rider rule comes from data, never from a default.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ridermap.model.bundle import Bundle
from ridermap.model.schema import INFERRED_SEP

_SIDES = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


def side_name(dx: float, dy: float) -> str:
    """Chinese compass side of a vector (east = 0°, counter-clockwise)."""
    angle = math.degrees(math.atan2(dy, dx)) % 360
    return _SIDES[int(((angle + 22.5) % 360) // 45)]


def unique_name(base: str, taken: set[str], *, sep: str = "") -> str:
    """``base``, or ``base2``, ``base3``... the first not in ``taken`` (which gains it).

    >>> taken = {"南侧出入口"}
    >>> unique_name("南侧出入口", taken), unique_name("南侧出入口", taken), unique_name("北侧出入口", taken)
    ('南侧出入口2', '南侧出入口3', '北侧出入口')
    """
    name, k = base, 2
    while name in taken:
        name, k = f"{base}{sep}{k}", k + 1
    taken.add(name)
    return name


def add_inferred(values: pd.Series, mask, attribute: str) -> pd.Series:
    """Add ``attribute`` to the comma-separated ``inferred`` values where ``mask`` holds.

    >>> add_inferred(pd.Series(["", "location", "name"]), [True, True, False], "name").tolist()
    ['name', 'location,name', 'name']
    """
    out = values.fillna("").astype(str).copy()
    for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
        parts = [p for p in out.iloc[i].split(INFERRED_SEP) if p]
        if attribute not in parts:
            out.iloc[i] = INFERRED_SEP.join(parts + [attribute])
    return out


def name_gates_by_side(gates: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Name each unnamed gate by its side of its compound (``南侧出入口``, ``南侧出入口2``...), in row order."""
    names = gates["name"].to_numpy(dtype=object).copy()
    unnamed = np.flatnonzero(names == "")
    if not len(unnamed):
        return gates.copy()
    cids = gates["community_id"].to_numpy(dtype=object)
    centre = shapely.centroid(communities.geometry.values)
    centroids = dict(zip(communities["id"], zip(shapely.get_x(centre), shapely.get_y(centre))))
    used: dict[str, set[str]] = {}
    for name, cid in zip(names, cids):
        if name:
            used.setdefault(cid, set()).add(name)
    pts = gates.geometry.values[unnamed]
    for i, x, y in zip(unnamed, shapely.get_x(pts), shapely.get_y(pts)):
        c = centroids.get(cids[i])
        base = f"{side_name(x - c[0], (y - c[1]) * 1.2)}侧出入口" if c is not None else "出入口"
        names[i] = unique_name(base, used.setdefault(cids[i], set()))
    return gates.assign(name=names)


def finalise(bundle: Bundle) -> Bundle:
    comm = bundle.communities.copy()
    unknown = comm["rider_access"] == ""
    comm.loc[unknown, "rider_access"] = "unknown"
    comm["inferred"] = add_inferred(comm["inferred"], unknown.values, "rider_access")

    gates = name_gates_by_side(bundle.gates, comm)

    b = bundle.buildings.copy()
    fill = (b["label"] == "") & (b["number"] != "")
    b.loc[fill, "label"] = b.loc[fill, "number"] + "号楼"
    u = bundle.units.copy()
    fill = (u["label"] == "") & (u["number"] != "")
    u.loc[fill, "label"] = u.loc[fill, "number"] + "单元"
    for gdf in (b, u, gates):
        dup = gdf["id"].duplicated(keep="first")
        if dup.any():
            gdf.loc[dup, "id"] = [f"{v}-{k}" for k, v in zip(np.flatnonzero(dup.values), gdf.loc[dup, "id"])]
    return bundle.replace(communities=comm, gates=gates, buildings=b, units=u)
