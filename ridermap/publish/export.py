"""Give the data back: a GeoJSON for delivery platforms and an osmChange of the survey for OpenStreetMap.

**Platform** (``ridermap export --to platform``; Sichuan plan item 7: community
data shared with delivery platforms). One GeoJSON FeatureCollection per
compound, ``<community id>.geojson``, valid against the JSON Schema
``docs/platform-export.schema.json`` (a copy ships in the package). Its
``ridermap`` member describes the compound (id, name, rider rule and hours,
data date, licence) and each feature has a ``kind``:

- ``compound``: the outline;
- ``gate``: name, ``rider_access`` (``ride`` / ``walk`` / ``none`` /
  ``unknown``), ``hours`` (OSM ``opening_hours``), ``locked``, ``confirmed``
  (``false`` for what ridermap inferred: 待核实);
- ``unit_door``: the standard address (``锦华苑 7号楼 2单元``), building and
  unit numbers;
- ``facility``: rider parking, chargers, battery swap, parcel lockers, rider
  stations, toilets, water — ``facility_kind`` and name.

**OSM** (``--to osm``). An osmChange file (``.osc``) of what the survey
confirmed, against the OSM input, for a mapper to review in JOSM — ridermap
never uploads anything. It holds:

- gates: a surveyed gate that OSM has gets its rider rule (``moped``,
  ``foot``, ``access``, ``locked``), ``opening_hours`` and ``name`` where the
  survey says otherwise; a surveyed gate OSM lacks is created
  (``barrier=gate``);
- unit doors: ``ref`` set where the surveyed unit number differs; a surveyed
  door OSM lacks is created (``entrance=staircase`` + ``ref``), standing
  alone: the mapper joins it to the building outline;
- buildings: ``name`` set to the surveyed label where the number differs.

Nothing inferred goes into either file as fact: inferred gates are
``confirmed: false`` on the platform and left out of the osmChange.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from ridermap.errors import InputError
from ridermap.fileio import write_bytes, write_text
from ridermap.model.bundle import Bundle
from ridermap.model.schema import FACILITY_KINDS
from ridermap.numbers import parse_building_number, parse_unit_number

log = logging.getLogger(__name__)

__all__ = ["SCHEMA_PATH", "platform_collection", "write_platform", "osm_change", "write_osm_change"]

SCHEMA_PATH = Path(__file__).resolve().parent / "platform-export.schema.json"
LICENCE = "Open Database License (ODbL) 1.0: © OpenStreetMap contributors; survey data © the community"
SCHEMA_ID = "https://ridermap.example/schema/platform-export-1.json"
_YES = ("yes", "true", "1", "designated", "permissive")


# ---------------------------------------------------------------------------
# platform
# ---------------------------------------------------------------------------
def _confirmed(inferred: object) -> bool:
    return not str(inferred or "").strip()


def _point(geom) -> dict:
    return {"type": "Point", "coordinates": [round(geom.x, 7), round(geom.y, 7)]}


def _address(name: str, building: str, unit: str) -> str:
    return " ".join(p for p in (name, building, unit) if p)


def platform_collection(view: Bundle, community_id: str, *, data_date: str = "") -> dict:
    """The platform GeoJSON of one compound (see the module docstring)."""
    comm = view.communities[view.communities["id"] == community_id]
    if comm.empty:
        raise InputError(f"export: no compound {community_id!r} in the data")
    row = comm.iloc[0]
    name = str(row["name"] or "")
    features: list[dict] = [
        {
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(row.geometry, 1e-7))),
            "properties": {
                "kind": "compound",
                "id": community_id,
                "name": name,
                "rider_access": row["rider_access"],
                "hours": row.get("rider_hours", "") or "",
                "confirmed": _confirmed(row.get("inferred", "")),
            },
        }
    ]
    gates = view.gates[view.gates["community_id"] == community_id]
    for g in gates.itertuples():
        features.append(
            {
                "type": "Feature",
                "geometry": _point(g.geometry),
                "properties": {
                    "kind": "gate",
                    "id": g.id,
                    "name": str(g.name or ""),
                    "rider_access": g.rider_access,
                    "hours": str(g.hours or ""),
                    "locked": bool(g.locked),
                    "confirmed": _confirmed(g.inferred),
                },
            }
        )
    labels = dict(zip(view.buildings["id"], view.buildings["label"].fillna("")))
    numbers = dict(zip(view.buildings["id"], view.buildings["number"].fillna("")))
    units = view.units[view.units["community_id"] == community_id]
    for u in units.itertuples():
        building = str(labels.get(u.building_id, ""))
        features.append(
            {
                "type": "Feature",
                "geometry": _point(u.geometry),
                "properties": {
                    "kind": "unit_door",
                    "id": u.id,
                    "address": _address(name, building, str(u.label or "")),
                    "building_id": u.building_id,
                    "building_number": str(numbers.get(u.building_id, "")),
                    "unit_number": str(u.number or ""),
                    "confirmed": _confirmed(u.inferred),
                },
            }
        )
    fac = view.facilities
    for f in fac.itertuples():
        if f.kind not in FACILITY_KINDS or f.geometry is None or f.geometry.is_empty:
            continue
        pt = f.geometry if f.geometry.geom_type == "Point" else f.geometry.representative_point()
        features.append(
            {
                "type": "Feature",
                "geometry": _point(pt),
                "properties": {
                    "kind": "facility",
                    "id": f.id,
                    "facility_kind": f.kind,
                    "name": str(f.name or ""),
                    "in_compound": f.community_id == community_id,
                },
            }
        )
    meta = {"schema": SCHEMA_ID, "compound": community_id, "name": name, "data_date": data_date, "licence": LICENCE}
    return {"type": "FeatureCollection", "ridermap": meta, "features": features}


def write_platform(bundle: Bundle, outdir: str | Path, *, ids: list[str], data_date: str = "") -> list[Path]:
    """``<outdir>/<community id>.geojson`` for each of ``ids`` and the schema beside them; the files written."""
    outdir = Path(outdir)
    written = [write_bytes(outdir / "platform-export.schema.json", SCHEMA_PATH.read_bytes())]
    for cid in ids:
        doc = platform_collection(bundle.community(cid), cid, data_date=data_date)
        written.append(write_text(outdir / f"{cid}.geojson", json.dumps(doc, ensure_ascii=False, indent=1) + "\n"))
    return written


# ---------------------------------------------------------------------------
# osmChange
# ---------------------------------------------------------------------------
@dataclass
class _Original:
    """OSM elements of the input, by (type, id): tags, version, and a node's location or a way's nodes."""

    nodes: dict[int, tuple[dict, int, float, float]] = field(default_factory=dict)
    ways: dict[int, tuple[dict, int, list[int], list[tuple[float, float]]]] = field(default_factory=dict)


def _read_originals(paths: list[str], want_nodes: set[int], want_ways: set[int]) -> _Original:
    import osmium

    found = _Original()
    for path in paths:
        for obj in osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations():
            if isinstance(obj, osmium.osm.Node) and obj.id in want_nodes:
                found.nodes[obj.id] = (dict(obj.tags), obj.version, obj.location.lon, obj.location.lat)
            elif isinstance(obj, osmium.osm.Way) and obj.id in want_ways:
                found.ways[obj.id] = (
                    dict(obj.tags),
                    obj.version,
                    [n.ref for n in obj.nodes],
                    [(n.location.lon, n.location.lat) for n in obj.nodes],
                )
    return found


def _osm_ref(source: object, kind: str) -> int | None:
    """The OSM id of ``kind`` (``node``/``way``) in a ``source`` like ``osm:node/100001;survey.xlsx:gates:2``."""
    for part in str(source or "").split(";"):
        if part.startswith(f"osm:{kind}/"):
            try:
                return int(part.split("/", 1)[1].split()[0])
            except ValueError:
                return None
    return None


def _surveyed(source: object) -> bool:
    return any(p and not p.startswith("osm:") and not p.startswith("inferred") for p in str(source or "").split(";"))


def _gate_tags(tags: dict, rider_access: str, hours: str, locked: bool, name: str) -> dict:
    """``tags`` with the rider rule, hours and name a survey gave (only what the OSM tags do not already say)."""
    from ridermap.ingest.osm import gate_rider_access

    new = dict(tags)
    was_locked = tags.get("locked") == "yes" or tags.get("access") == "no"
    if gate_rider_access(tags, was_locked) != rider_access or was_locked != locked:
        for key in ("moped", "motorcycle", "bicycle", "vehicle", "foot", "access", "locked"):
            new.pop(key, None)
        if locked:
            new["locked"] = "yes"
        elif rider_access == "ride":
            new["moped"] = "yes"
        elif rider_access == "walk":
            new["moped"], new["foot"] = "no", "yes"
        elif rider_access == "none":
            new["access"] = "no"
    if hours and tags.get("opening_hours", "") != hours:
        new["opening_hours"] = hours
    if name and tags.get("name", "") != name and tags.get("name:zh", "") != name:
        new["name"] = name
    return new


class _Change:
    def __init__(self) -> None:
        self.root = ET.Element("osmChange", version="0.6", generator="ridermap")
        self.create = ET.SubElement(self.root, "create")
        self.modify = ET.SubElement(self.root, "modify")
        self.next_id = -1
        self.counts = {"create": 0, "modify": 0}

    def _tags(self, el, tags: dict) -> None:
        for k in sorted(tags):
            ET.SubElement(el, "tag", k=k, v=str(tags[k]))

    def new_node(self, lon: float, lat: float, tags: dict) -> int:
        oid = self.next_id
        el = ET.SubElement(self.create, "node", id=str(oid), version="0", lat=f"{lat:.7f}", lon=f"{lon:.7f}")
        self.next_id -= 1
        self._tags(el, tags)
        self.counts["create"] += 1
        return oid

    def node(self, oid: int, orig: tuple, tags: dict) -> None:
        old, version, lon, lat = orig
        if tags == old:
            return
        el = ET.SubElement(self.modify, "node", id=str(oid), version=str(version), lat=f"{lat:.7f}", lon=f"{lon:.7f}")
        self._tags(el, tags)
        self.counts["modify"] += 1

    def way(self, oid: int, orig: tuple, tags: dict, refs: list[int] | None = None) -> None:
        old, version, old_refs = orig[:3]
        refs = old_refs if refs is None else refs
        if tags == old and refs == old_refs:
            return
        el = ET.SubElement(self.modify, "way", id=str(oid), version=str(version))
        for ref in refs:
            ET.SubElement(el, "nd", ref=str(ref))
        self._tags(el, tags)
        self.counts["modify"] += 1

    def to_bytes(self) -> bytes:
        ET.indent(self.root, space=" ")
        return ET.tostring(self.root, encoding="utf-8", xml_declaration=True) + b"\n"


def osm_change(bundle: Bundle, osm_paths: list[str], *, ids: list[str] | None = None) -> tuple[bytes, dict[str, int]]:
    """The osmChange (bytes) of what the survey confirmed in ``bundle`` against the OSM files it was read from.

    Returns the document and counts ``{"create": n, "modify": m}``.
    """
    keep = set(ids or bundle.community_ids())
    gates = bundle.gates[bundle.gates["community_id"].isin(keep)]
    units = bundle.units[bundle.units["community_id"].isin(keep)]
    builds = bundle.buildings[bundle.buildings["community_id"].isin(keep)]
    want_nodes = {r for s in list(gates["source"]) + list(units["source"]) if (r := _osm_ref(s, "node")) is not None}
    want_ways = {r for s in builds["source"] if (r := _osm_ref(s, "way")) is not None}
    orig = _read_originals(osm_paths, want_nodes, want_ways)
    change = _Change()
    _gates_change(change, gates, orig)
    way_of = {bid: r for bid, s in zip(builds["id"], builds["source"]) if (r := _osm_ref(s, "way")) is not None}
    inserts = _units_change(change, units, orig, way_of)
    _buildings_change(change, builds, orig, inserts)
    return change.to_bytes(), dict(change.counts)


def _gates_change(change: _Change, gates, orig: _Original) -> None:
    for g in gates.itertuples():
        if not _surveyed(g.source) or not _confirmed(g.inferred):
            continue  # what OSM alone says, or what ridermap guessed: nothing to give back
        name = str(g.name or "")
        oid = _osm_ref(g.source, "node")
        if oid is not None and oid in orig.nodes:
            tags = _gate_tags(orig.nodes[oid][0], g.rider_access, str(g.hours or ""), bool(g.locked), name)
            change.node(oid, orig.nodes[oid], tags)
        elif oid is None:
            tags = _gate_tags({"barrier": "gate"}, g.rider_access, str(g.hours or ""), bool(g.locked), name)
            change.new_node(g.geometry.x, g.geometry.y, tags)


def _units_change(change: _Change, units, orig: _Original, way_of: dict[str, int]) -> dict[int, list[tuple]]:
    """Unit doors: ``ref`` where the survey's number differs; new doors created on their building's outline.

    Returns the new door nodes to insert into each building way: ``way id -> [(segment, t, node id)]``.
    """
    inserts: dict[int, list[tuple]] = {}
    for u in units.itertuples():
        number = str(u.number or "")
        if not _surveyed(u.source) or not number:
            continue
        oid = _osm_ref(u.source, "node")
        if oid is not None and oid in orig.nodes:
            old = orig.nodes[oid][0]
            if parse_unit_number(old.get("ref") or old.get("addr:unit") or old.get("name")) != number:
                change.node(oid, orig.nodes[oid], {**old, "ref": number})
            continue
        if oid is not None:
            continue  # an OSM door not in the files given
        way = way_of.get(u.building_id)
        if way is not None and way in orig.ways:  # on the outline, where the surveyed door projects onto it
            k, t, (lon, lat) = _project(orig.ways[way][3], u.geometry.x, u.geometry.y)
            node = change.new_node(lon, lat, {"entrance": "staircase", "ref": number})
            inserts.setdefault(way, []).append((k, t, node))
        else:  # no outline in OSM to put it on: alone, for the mapper
            change.new_node(u.geometry.x, u.geometry.y, {"entrance": "staircase", "ref": number})
    return inserts


def _project(coords: list[tuple[float, float]], lon: float, lat: float) -> tuple[int, float, tuple[float, float]]:
    """Nearest segment ``k`` of a lon/lat line, the position ``t`` along it and the point there."""
    import math

    kx = math.cos(math.radians(lat))
    best = (0, 0.0, coords[0], math.inf)
    for k, ((x0, y0), (x1, y1)) in enumerate(zip(coords[:-1], coords[1:])):
        dx, dy = (x1 - x0) * kx, y1 - y0
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, (((lon - x0) * kx) * dx + (lat - y0) * dy) / length2))
        px, py = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        d = ((px - lon) * kx) ** 2 + (py - lat) ** 2
        if d < best[3]:
            best = (k, t, (px, py), d)
    return best[0], best[1], best[2]


def _buildings_change(change: _Change, builds, orig: _Original, inserts: dict[int, list[tuple]]) -> None:
    """Building ``name`` where the survey's number differs, and the new doors on each outline."""
    for b in builds.itertuples():
        oid = _osm_ref(b.source, "way")
        if oid is None or oid not in orig.ways:
            continue  # a surveyed building OSM lacks: its outline is for a mapper to draw
        old, _, refs = orig.ways[oid][:3]
        tags = dict(old)
        number, label = str(b.number or ""), str(b.label or "")
        if _surveyed(b.source) and number:
            have = parse_building_number(old.get("name:zh") or old.get("name")) or parse_building_number(
                old.get("addr:housenumber")
            )
            if have != number:
                tags.pop("name:zh", None)
                tags["name"] = label or f"{number}号楼"
        new_refs = list(refs)
        for k, _, node in sorted(inserts.get(oid, ()), key=lambda x: (-x[0], -x[1])):
            new_refs.insert(k + 1, node)  # from the end, so earlier positions stay valid
        change.way(oid, orig.ways[oid], tags, new_refs)


def write_osm_change(bundle: Bundle, osm_paths: list[str], target: str | Path, *, ids: list[str] | None = None) -> Path:
    """Write :func:`osm_change` to ``target`` (``.osc``)."""
    data, counts = osm_change(bundle, osm_paths, ids=ids)
    log.info("osmChange: %d created, %d modified -> %s", counts["create"], counts["modify"], target)
    return write_bytes(target, data)
