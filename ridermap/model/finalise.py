"""Last step of ingest: fill display fallbacks and make ids unique.

* a gate without a name gets one from its side of the compound (``东南侧出入口``),
* a building with a number but no label gets ``7号楼``; a unit ``2单元``,
* a compound without a rider rule is ``ride``.
"""
from __future__ import annotations

import math

import numpy as np
import shapely

from ridermap.model.bundle import Bundle

_SIDES = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


def side_name(dx: float, dy: float) -> str:
    """Chinese compass side of a vector (east = 0°, counter-clockwise)."""
    angle = math.degrees(math.atan2(dy, dx)) % 360
    return _SIDES[int(((angle + 22.5) % 360) // 45)]


def finalise(bundle: Bundle) -> Bundle:
    comm = bundle.communities.copy()
    comm.loc[comm["rider_access"] == "", "rider_access"] = "ride"

    gates = bundle.gates.copy()
    centroids = dict(zip(comm["id"], shapely.centroid(comm.geometry.values)))
    used: dict[str, set[str]] = {}
    for cid, group in gates.groupby("community_id"):
        used[cid] = set(group["name"][group["name"] != ""])
    for i, row in gates[gates["name"] == ""].iterrows():
        c = centroids.get(row["community_id"])
        base = f"{side_name(row.geometry.x - c.x, (row.geometry.y - c.y) * 1.2)}侧出入口" if c is not None else "出入口"
        name, k = base, 2
        taken = used.setdefault(row["community_id"], set())
        while name in taken:
            name, k = f"{base}{k}", k + 1
        taken.add(name)
        gates.loc[i, "name"] = name

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
