"""Merge survey tables into a bundle: the survey adds to and overrides OSM.

Rules (also in the README), applied layer by layer in this order:

1. ``communities``: a row matches a compound by ``osm_id`` or by name; it sets
   the compound's rider rule (``rider_access``, ``hours``) and, with an
   ``id``, re-keys the compound (``510104-w1001`` -> ``510104-jhy``) and every
   id below it. An unmatched row needs a ``wkt`` polygon and adds a compound.
2. ``buildings``: a point (``lon``/``lat``) inside an existing building, or a
   ``wkt`` polygon overlapping one, updates it (number, label, levels); the
   building id follows its new number. A polygon that matches nothing adds a
   building; a bare point that matches nothing is an error.
3. ``gates``: matched by name within the compound, else the nearest gate
   within 20 m; the survey's rider rule, hours and lock override OSM's.
   Unmatched rows add a gate.
4. ``units``: the unit's building is found by the ``building`` number within
   its compound (or, with no number, the building nearest the door within
   30 m). A door with the same building and unit number as an OSM entrance,
   or within 3 m of one, replaces it; otherwise it adds a unit.
5. ``facilities``: a facility of the same kind within 10 m is replaced;
   otherwise added. ``community`` may be empty (public facility).
6. ``paths``: added (``wkt`` lines).

Non-empty survey values override; empty cells keep what OSM had. A row that
cannot be applied (its compound, building or gate not found, no location)
becomes an error :class:`~ridermap.model.findings.Finding` naming file, sheet,
row, column and value (``bundle.findings``); that row is skipped and the
others still apply.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openlocationcode import openlocationcode as olc

from ridermap import ids
from ridermap.errors import InputError
from ridermap.i18n import t
from ridermap.model.bundle import Bundle, conform_layer
from ridermap.model.findings import Finding
from ridermap.model.schema import CRS, PATH_KINDS_RIDEABLE
from ridermap.model.survey_refs import resolve_survey_refs
from ridermap.numbers import parse_building_number, parse_unit_number
from ridermap.utm import utm_crs

log = logging.getLogger(__name__)

ORDER = ("communities", "buildings", "gates", "units", "facilities", "paths")
GATE_MATCH_M = 20.0
UNIT_MATCH_M = 3.0
UNIT_BUILDING_M = 30.0
FACILITY_MATCH_M = 10.0


def point_key(geom) -> str:
    """A stable id part from a location: its 11-digit plus code (≈ 3 m)."""
    p = geom.representative_point() if geom.geom_type != "Point" else geom
    return olc.encode(p.y, p.x, 11).replace("+", "")


def _reprefix(values, old: str, new: str) -> list[str]:
    """Replace the id prefix ``old-`` by ``new-`` (children of a re-keyed parent)."""
    return [new + v[len(old) :] if v.startswith(old + "-") else v for v in values]


class _RowError(InputError):
    """A survey row that cannot be applied: it becomes a Finding and the row is skipped."""

    def __init__(self, code: str, en: str, zh: str, *, column: str = "", value: object = "") -> None:
        super().__init__(en, zh=zh)
        self.code, self.column, self.value = code, column, "" if value is None else str(value)


class _Layers:
    """Mutable working copies of a bundle's layers during one merge."""

    def __init__(self, bundle: Bundle, admin_code: str) -> None:
        self.admin_code = admin_code
        self.findings = bundle.findings
        self.headers: dict[str, dict[str, str]] = {}  # sheet -> {canonical column: header as written}
        self.data = {name: gdf.copy() for name, gdf in bundle.layers().items()}
        geoms = [g for gdf in self.data.values() for g in gdf.geometry.values[:50] if g is not None]
        self.metric = str(utm_crs(gpd.GeoSeries(geoms, crs=CRS))) if geoms else None
        self._trees: dict[str, tuple] = {}  # layer -> (frame, STRtree of its geometries)
        self._by: dict[tuple[str, str], tuple] = {}  # (layer, column) -> (frame, {value: positions})

    def skip(self, layer: str, rec, exc: _RowError) -> None:
        """Report a row that cannot be applied (it is left out; the others go on)."""
        tag = str(rec["source"]).rsplit(":", 2)[1] if str(rec["source"]).count(":") >= 2 else layer
        header = self.headers.get(tag, {}).get(exc.column, exc.column)
        value = exc.value if len(exc.value) <= 60 else exc.value[:57] + "..."
        col_en = (f", column {header}" if header else "") + (f" (value {value!r})" if exc.value else "")
        col_zh = (f"“{header}”列" if header else "") + (f"（值“{value}”）" if exc.value else "")
        self.findings = self.findings + (
            Finding(
                "error",
                exc.code,
                layer,
                str(rec.get("id", "") or ""),
                str(rec["source"]),
                f"{_at(rec, 'zh')}{col_zh}：{exc.zh}；该行未采用",
                f"{_at(rec)}{col_en}: {exc}; row not used",
                column=header,
                value=exc.value,
            ),
        )
        log.debug("%s: %s; row not used", _at(rec), exc)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        return self.data[name]

    def set(self, name: str, gdf: gpd.GeoDataFrame) -> None:
        self.data[name] = gdf.reset_index(drop=True)

    def append(self, name: str, rows: list[dict]) -> None:
        if rows:
            new = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
            self.set(name, gpd.GeoDataFrame(pd.concat([self.data[name], new], ignore_index=True), crs=CRS))

    def to_metric(self, geoms) -> gpd.GeoSeries:
        series = gpd.GeoSeries(geoms, crs=CRS)
        if self.metric is None:
            self.metric = str(utm_crs(series))
        return series.to_crs(self.metric)

    def tree(self, name: str) -> shapely.STRtree:
        """Spatial index of a layer's geometries; rebuilt when the layer is replaced (:meth:`set`, :meth:`append`).

        Changes made in place must keep every geometry (rows are updated in
        place only when their geometry stays).
        """
        gdf = self.data[name]
        cached = self._trees.get(name)
        if cached is None or cached[0] is not gdf:
            cached = self._trees[name] = (gdf, shapely.STRtree(gdf.geometry.values))
        return cached[1]

    def near(self, name: str, geom, pad_deg: float) -> np.ndarray:
        """Positions (ascending) of rows of ``name`` whose bounds come within ``pad_deg`` of ``geom``'s bounds."""
        x0, y0, x1, y1 = geom.bounds
        return np.sort(self.tree(name).query(shapely.box(x0 - pad_deg, y0 - pad_deg, x1 + pad_deg, y1 + pad_deg)))

    def positions(self, name: str, column: str, value: str) -> np.ndarray:
        """Positions (ascending) of rows of ``name`` with ``column == value``.

        The index lives until the layer is replaced.

        Only for columns that in-place updates never change.
        """
        gdf = self.data[name]
        cached = self._by.get((name, column))
        if cached is None or cached[0] is not gdf:
            cached = self._by[(name, column)] = (gdf, gdf.groupby(column, sort=False).indices)
        return cached[1].get(value, _NO_ROWS)

    def changed(self, name: str) -> None:
        """Forget the column indexes of ``name`` after an in-place change (its geometries stayed)."""
        for key in [k for k in self._by if k[0] == name]:
            del self._by[key]

    def distances_m(self, gdf: gpd.GeoDataFrame, geom) -> np.ndarray:
        """Metres from each row of ``gdf`` to ``geom``."""
        return self.to_metric(gdf.geometry).distance(self.to_metric([geom]).iloc[0]).values

    def bundle(self) -> Bundle:
        return Bundle.from_layers({k: conform_layer(k, v) for k, v in self.data.items()}).with_findings(self.findings)

    # --- re-keying ---------------------------------------------------------
    def rekey_community(self, old: str, new: str) -> None:
        if old == new:
            return
        if (self["communities"]["id"] == new).any():
            raise _RowError(
                "duplicate_compound_id",
                f"compound id {new!r} is used twice",
                f"小区编码“{new}”重复",
                column="id",
                value=new,
            )
        for name, gdf in self.data.items():
            gdf = gdf.copy()
            if name == "communities":
                gdf.loc[gdf["id"] == old, "id"] = new
            else:
                if name in ("gates", "buildings", "units"):
                    gdf["id"] = _reprefix(gdf["id"], old, new)
                if name == "units":
                    gdf["building_id"] = _reprefix(gdf["building_id"], old, new)
                gdf.loc[gdf["community_id"] == old, "community_id"] = new
            self.data[name] = gdf

    def rekey_building(self, old: str, new: str) -> str:
        if old == new:
            return old
        taken = set(self["buildings"]["id"])
        if new in taken:
            new = f"{new}-{old.rsplit('-', 1)[-1]}"
        b = self["buildings"]  # in place: geometries and indexed columns stay
        b.loc[b["id"] == old, "id"] = new
        self.changed("buildings")
        u = self["units"].copy()
        u["id"] = _reprefix(u["id"], old, new)
        u.loc[u["building_id"] == old, "building_id"] = new
        self.data["units"] = u
        return new


_NO_ROWS = np.zeros(0, dtype=np.intp)


def _pad_deg(metres: float, lat: float) -> float:
    """Degrees that surely cover ``metres`` every way at latitude ``lat`` (1.5 x for UTM scale and rounding)."""
    return 1.5 * metres / (111_320.0 * max(np.cos(np.radians(min(abs(lat), 85.0))), 0.05)) + 1e-7


def _at(rec, lang: str = "en") -> str:
    """``survey.xlsx:units:12`` -> ``survey.xlsx sheet units row 12`` (or in Chinese) for messages."""
    parts = str(rec["source"]).rsplit(":", 2)
    if len(parts) != 3:
        return str(rec["source"])
    name, layer, row = parts
    kind = "csv" if name.lower().endswith(".csv") else "sheet" if name.lower().endswith((".xlsx", ".xlsm")) else "layer"
    return t(f"at.{kind}", lang, name=name, layer=layer, row=row)


def _crs_hint(work: _Layers, geom, *, language: str = "en") -> str:
    """' (read as GCJ-02 it falls on building X: declare crs = "gcj02")' or ''."""
    from ridermap.crs import bd09_to_wgs84, gcj02_to_wgs84

    for name, fix in (("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)):
        lon, lat = fix(geom.x, geom.y)
        hit = work["buildings"][work["buildings"].geometry.contains(shapely.Point(lon[0], lat[0]))]
        if len(hit):
            what = hit["label"].iloc[0] or hit["id"].iloc[0]
            if language == "zh":
                return f'（按 {name} 解读则落在楼栋 {what} 上：请声明 crs = "{name}"）'
            return f' (read as {name} it falls on building {what}: declare crs = "{name}")'
    return ""


def merge_survey(base: Bundle, tables: dict[str, gpd.GeoDataFrame], *, admin_code: str, where: str) -> Bundle:
    """Apply one survey file's tables to ``base`` (see the module rules)."""
    base, tables = resolve_survey_refs(base, tables, admin_code=admin_code, where=where)  # keys and marks first
    work = _Layers(base, admin_code)
    work.headers = getattr(tables, "headers", {})
    for layer in ORDER:
        if layer in tables and len(tables[layer]):
            _APPLY[layer](work, tables[layer], where)
    return work.bundle()


def _find_community(work: _Layers, text: str, geom, where: str) -> str:
    """Compound id from a survey ``community`` cell (id, key or name) or location."""
    comm = work["communities"]
    text = (text or "").strip()
    if text:
        for col in ("id", "name"):
            hit = comm[comm[col] == text]
            if len(hit):
                return str(hit["id"].iloc[0])
        hit = comm[comm["id"].str.endswith("-" + ids.slug(text))]
        if len(hit):
            return str(hit["id"].iloc[0])
        raise _RowError(
            "compound_not_found",
            f"compound {text!r} not found (known: {', '.join(comm['name'][:8])})",
            f"找不到小区“{text}”（已知：{'、'.join(comm['name'][:8])}）",
            column="community",
            value=text,
        )
    if geom is not None and len(comm):
        near = work.near("communities", geom, 2e-4)
        cand = comm.geometry.values[near]
        inside = near[shapely.contains(cand, geom) | (shapely.distance(cand, geom) < 2e-4)]  # ~20 m
        if len(inside):
            return str(comm["id"].iloc[inside[0]])
    return ""


def _apply_communities(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    new_rows = []
    for _, rec in table.iterrows():
        try:
            comm = work["communities"]
            match = comm.iloc[0:0]
            osm_id = str(rec.get("osm_id", "") or "")
            if osm_id:
                key = osm_id.replace("way/", "w").replace("relation/", "r")
                match = comm[comm["source"].str.endswith("/" + key.lstrip("wr")) | comm["id"].str.endswith("-" + key)]
            if match.empty and rec.get("name"):
                match = comm[comm["name"] == rec["name"]]
            if match.empty and rec.get("id"):
                match = comm[comm["id"] == ids.community_id(work.admin_code, rec["id"])]
            if match.empty:
                if rec.geometry is None or rec.geometry.geom_type not in ("Polygon", "MultiPolygon"):
                    name = rec.get("name") or rec.get("id")
                    raise _RowError(
                        "compound_not_found",
                        f"compound {name!r} is not in the other sources and has no wkt polygon",
                        f"小区“{name}”不在其他数据源中，且没有几何（WKT 范围）",
                        column="name",
                        value=name,
                    )
                key = rec.get("id") or point_key(rec.geometry)
                new_rows.append(
                    {
                        "id": ids.community_id(work.admin_code, key),
                        "name": rec.get("name", "") or key,
                        "name_en": rec.get("name_en", ""),
                        "rider_access": rec.get("rider_access") or "unknown",
                        "rider_hours": rec.get("hours", ""),
                        "inferred": "" if rec.get("rider_access") else "rider_access",
                        "admin_code": work.admin_code,
                        "source": rec["source"],
                        "geometry": rec.geometry,
                    }
                )
                continue
            cid = str(match["id"].iloc[0])
            c = work["communities"].copy()
            sel = c["id"] == cid
            if rec.get("name_en"):
                c.loc[sel, "name_en"] = rec["name_en"]
            for src, dst in (("name", "name"), ("rider_access", "rider_access"), ("hours", "rider_hours")):
                if rec.get(src):
                    c.loc[sel, dst] = rec[src]
                    c.loc[sel, "inferred"] = [
                        ",".join(p for p in v.split(",") if p and p != src) for v in c.loc[sel, "inferred"]
                    ]  # surveyed, not inferred
            if rec.geometry is not None and rec.geometry.geom_type in ("Polygon", "MultiPolygon"):
                c.loc[sel, "geometry"] = rec.geometry
            c.loc[sel, "source"] = c.loc[sel, "source"] + ";" + rec["source"]
            work.set("communities", c)
            if rec.get("id"):
                work.rekey_community(cid, ids.community_id(work.admin_code, rec["id"]))
        except _RowError as exc:
            work.skip("communities", rec, exc)
    work.append("communities", new_rows)


def _apply_buildings(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    new_rows = []
    for _, rec in table.iterrows():
        try:
            at = _at(rec)
            geom = rec.geometry
            number = parse_building_number(rec.get("number", "")) or parse_building_number(rec.get("label", ""))
            label = rec.get("label", "") or (f"{number}号楼" if number else "")
            b = work["buildings"]
            hit = b.iloc[0:0]
            if geom is not None and geom.geom_type == "Point":
                near = work.near("buildings", geom, 0.0)
                hit = b.iloc[near[shapely.contains(b.geometry.values[near], geom)]]
                if hit.empty and len(b):
                    near = work.near("buildings", geom, _pad_deg(5.0, geom.y))
                    d = work.distances_m(b.iloc[near], geom)
                    hit = b.iloc[near[d < 5.0]]
                if hit.empty:
                    hint, hint_zh = _crs_hint(work, geom), _crs_hint(work, geom, language="zh")
                    raise _RowError(
                        "no_building_here",
                        f"no building at this point; give a wkt polygon to add one{hint}",
                        f"该点没有楼栋；要新增楼栋请填写几何（WKT 范围）{hint_zh}",
                        column="lon",
                        value=f"{geom.x:.7f}, {geom.y:.7f}",
                    )
            elif geom is not None:
                inter = b.geometry.intersection(geom).area
                share = inter / np.maximum(np.minimum(b.geometry.area, geom.area), 1e-18)
                hit = b[share.values > 0.5]
            else:
                cid = _find_community(work, rec.get("community", ""), None, at)
                hit = b[(b["community_id"] == cid) & (b["number"] == number)]
                if hit.empty:
                    raise _RowError(
                        "building_not_found",
                        f"building {number or label!r} not found and no location given",
                        f"找不到楼栋“{number or label}”，且没有填写位置",
                        column="number",
                        value=number or label,
                    )
            if hit.empty:  # a new polygon
                cid = _find_community(work, rec.get("community", ""), geom.representative_point(), at)
                base = cid or ids.slug(work.admin_code)
                new_rows.append(
                    {
                        "id": ids.building_id(base, number, fallback=point_key(geom)),
                        "community_id": cid,
                        "number": number,
                        "label": label,
                        "levels": rec.get("levels") or None,
                        "source": rec["source"],
                        "geometry": geom,
                    }
                )
                continue
            bid = str(hit["id"].iloc[0])
            new_geom = geom is not None and geom.geom_type != "Point"
            b = b.copy() if new_geom else b  # in place unless the outline changes (the spatial index stays valid)
            sel = b["id"] == bid
            if number:
                b.loc[sel, "number"] = number
            if label:
                b.loc[sel, "label"] = label
            if rec.get("levels"):
                b.loc[sel, "levels"] = int(float(rec["levels"]))
            if geom is not None and geom.geom_type != "Point":
                b.loc[sel, "geometry"] = geom
            b.loc[sel, "source"] = b.loc[sel, "source"] + ";" + rec["source"]
            if new_geom:
                work.set("buildings", b)
            else:
                work.changed("buildings")
            if number:
                cid = str(hit["community_id"].iloc[0])
                work.rekey_building(bid, ids.building_id(cid or ids.slug(work.admin_code), number))
        except _RowError as exc:
            work.skip("buildings", rec, exc)
    work.append("buildings", new_rows)


def _apply_gates(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    new_rows = []
    for _, rec in table.iterrows():
        try:
            at = _at(rec)
            geom = rec.geometry
            cid = _find_community(work, rec.get("community", ""), geom, at)
            g = work["gates"]
            cand = g.iloc[work.positions("gates", "community_id", cid)] if cid else g
            hit = cand[(cand["name"] == rec.get("name")) & (cand["name"] != "")] if rec.get("name") else cand.iloc[0:0]
            if hit.empty and geom is not None and len(cand):
                d = work.distances_m(cand, geom)
                hit = cand[d <= GATE_MATCH_M].iloc[np.argsort(d[d <= GATE_MATCH_M])[:1]]
            if hit.empty:
                if geom is None:
                    raise _RowError(
                        "gate_not_found",
                        f"gate {rec.get('name')!r} not found and no lon/lat given",
                        f"找不到出入口“{rec.get('name')}”，且没有填写经纬度",
                        column="name",
                        value=rec.get("name", ""),
                    )
                if not cid:
                    raise _RowError(
                        "gate_outside_compounds",
                        f"gate {rec.get('name')!r} is not on any compound; give its compound",
                        f"出入口“{rec.get('name')}”不在任何小区边界上；请填写所属小区",
                        column="lon",
                        value=f"{geom.x:.7f}, {geom.y:.7f}",
                    )
                locked = bool(rec.get("locked", False))
                new_rows.append(
                    {
                        "id": ids.gate_id(cid, rec.get("id") or rec.get("name") or point_key(geom)),
                        "community_id": cid,
                        "name": rec.get("name", ""),
                        "name_en": rec.get("name_en", ""),
                        "rider_access": "none" if locked else (rec.get("rider_access") or "unknown"),
                        "inferred": "" if (locked or rec.get("rider_access")) else "rider_access",
                        "hours": rec.get("hours", ""),
                        "locked": locked,
                        "source": rec["source"],
                        "geometry": geom,
                    }
                )
                continue
            gid = hit["id"].iloc[0]
            sel = g["id"] == gid  # in place: community_id (indexed) and geometry stay
            confirmed = set()
            for col in ("name", "rider_access", "hours"):
                if rec.get(col):
                    g.loc[sel, col] = rec[col]
                    confirmed.add(col)
            if rec.get("name_en"):
                g.loc[sel, "name_en"] = rec["name_en"]
            if "locked" in rec and str(rec.get("locked")) != "":
                g.loc[sel, "locked"] = bool(rec["locked"])
                if rec["locked"]:
                    g.loc[sel, "rider_access"] = "none"
                    confirmed.add("rider_access")
            if confirmed:  # surveyed, no longer inferred (待核实)
                g.loc[sel, "inferred"] = [
                    ",".join(p for p in v.split(",") if p and p not in confirmed) for v in g.loc[sel, "inferred"]
                ]
            g.loc[sel, "source"] = g.loc[sel, "source"] + ";" + rec["source"]
            work.changed("gates")
        except _RowError as exc:
            work.skip("gates", rec, exc)
    work.append("gates", new_rows)


def _known_numbers(buildings: gpd.GeoDataFrame, cid: str, limit: int = 15) -> str:
    """``1, 2, 3, ...`` the building numbers of compound ``cid`` (all compounds when empty)."""
    mine = buildings[(buildings["community_id"] == cid) if cid else buildings["number"] != ""]
    numbers = sorted({n for n in mine["number"] if n}, key=lambda n: (len(n), n))
    return ", ".join(numbers[:limit]) + (", ..." if len(numbers) > limit else "")


def _unit_building(work: _Layers, rec, geom, cid: str):
    """The building a unit row belongs to: by its number (the nearest if several), else the one its door is on."""
    b = work["buildings"]
    bnum = parse_building_number(rec.get("building", ""))
    if bnum:
        pos = work.positions("buildings", "number", bnum)
        if cid:
            pos = pos[b["community_id"].to_numpy()[pos] == cid]
        hit = b.iloc[pos]
        if hit.empty:
            known = _known_numbers(b, cid)
            raise _RowError(
                "building_not_found",
                f"building {rec.get('building')!r} not found"
                + (f" in compound {cid}" if cid else "")
                + f" (known numbers: {known or 'none'})",
                f"找不到楼栋“{rec.get('building')}”"
                + (f"（小区 {cid}）" if cid else "")
                + f"（已有楼号：{known or '无'}）",
                column="building",
                value=rec.get("building"),
            )
        if len(hit) > 1 and geom is not None:
            d = work.distances_m(hit, geom)
            hit = hit.iloc[[int(np.argmin(d))]]
    else:
        if geom is None or b.empty:
            raise _RowError(
                "unit_without_location",
                "unit has no building number and no location",
                "单元门既没有楼号也没有位置",
            )
        near = work.near("buildings", geom, _pad_deg(UNIT_BUILDING_M, geom.y))
        d = work.distances_m(b.iloc[near], geom) if len(near) else np.array([np.inf])
        k = int(np.argmin(d))
        if d[k] > UNIT_BUILDING_M:
            raise _RowError(
                "unit_far_from_buildings",
                f"no building within {UNIT_BUILDING_M:g} m of this unit door; give its building number",
                f"单元门 {UNIT_BUILDING_M:g} 米内没有楼栋；请填写楼号",
                column="lon",
                value=f"{geom.x:.7f}, {geom.y:.7f}",
            )
        hit = b.iloc[[near[k]]]
    return hit


def _apply_units(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    new_rows = []
    for _, rec in table.iterrows():
        try:
            at = _at(rec)
            geom = rec.geometry
            cid = _find_community(work, rec.get("community", ""), geom, at)
            hit = _unit_building(work, rec, geom, cid)
            bid, bcid = str(hit["id"].iloc[0]), str(hit["community_id"].iloc[0])
            number = parse_unit_number(rec.get("unit", "")) or parse_unit_number(rec.get("label", ""))
            label = rec.get("label", "") or (f"{number}单元" if number else "")
            u = work["units"]
            mine = u.iloc[work.positions("units", "building_id", bid)]
            match = mine[(mine["number"] == number) & (mine["number"] != "")] if number else mine.iloc[0:0]
            if match.empty and geom is not None and len(mine):
                d = work.distances_m(mine, geom)
                match = mine[d <= UNIT_MATCH_M]
            if match.empty:
                if geom is None:
                    raise _RowError(
                        "unit_not_found",
                        f"unit {number or label!r} of building {bid} not found and no lon/lat given",
                        f"找不到楼栋 {bid} 的单元“{number or label}”，且没有填写经纬度",
                        column="unit",
                        value=number or label,
                    )
                new_rows.append(
                    {
                        "id": ids.unit_id(bid, number, fallback=point_key(geom)),
                        "community_id": bcid,
                        "building_id": bid,
                        "number": number,
                        "label": label,
                        "flats": rec.get("flats", ""),
                        "source": rec["source"],
                        "geometry": geom,
                    }
                )
                continue
            sel = u["id"] == match["id"].iloc[0]  # in place: building_id (indexed) and the layer's rows stay
            if number:
                u.loc[sel, "number"] = number
                u.loc[sel, "id"] = ids.unit_id(bid, number)
            for col in ("label", "flats"):
                val = label if col == "label" else rec.get(col)
                if val:
                    u.loc[sel, col] = val
            if geom is not None:
                u.loc[sel, "geometry"] = geom
            u.loc[sel, "source"] = u.loc[sel, "source"] + ";" + rec["source"]
            work.changed("units")
        except _RowError as exc:
            work.skip("units", rec, exc)
    work.append("units", new_rows)


def _apply_facilities(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    new_rows = []
    for _, rec in table.iterrows():
        try:
            at = _at(rec)
            geom = rec.geometry
            if geom is None:
                raise _RowError(
                    "facility_without_location", "facility has no lon/lat", "设施没有填写经纬度", column="lon"
                )
            geom = geom if geom.geom_type == "Point" else geom.representative_point()
            f = work["facilities"]
            same = f[f["kind"] == rec["kind"]]
            if len(same):
                d = work.distances_m(same, geom)
                same = same[d <= FACILITY_MATCH_M]
            cid = (
                _find_community(work, rec.get("community", ""), geom, at)
                if rec.get("community")
                else _inside_community(work, geom)
            )
            row = {
                "id": ids.facility_id(rec["kind"], rec.get("id") or point_key(geom)),
                "kind": rec["kind"],
                "name": rec.get("name", ""),
                "name_en": rec.get("name_en", "") or (str(same["name_en"].iloc[0]) if len(same) else ""),
                "community_id": cid,
                "source": rec["source"],
                "geometry": geom,
            }
            if len(same):
                work.set("facilities", work["facilities"][work["facilities"]["id"] != same["id"].iloc[0]])
                row["source"] = same["source"].iloc[0] + ";" + rec["source"]
            new_rows.append(row)
        except _RowError as exc:
            work.skip("facilities", rec, exc)
    work.append("facilities", new_rows)


def _inside_community(work: _Layers, geom) -> str:
    comm = work["communities"]
    near = work.near("communities", geom, 0.0)
    inside = near[shapely.contains(comm.geometry.values[near], geom)]
    return str(comm["id"].iloc[inside[0]]) if len(inside) else ""


def _apply_paths(work: _Layers, table: gpd.GeoDataFrame, where: str) -> None:
    rows = []
    for _, rec in table.iterrows():
        try:
            at = _at(rec)
            geom = rec.geometry
            if geom is None or geom.geom_type not in ("LineString", "MultiLineString"):
                raise _RowError(
                    "path_needs_line", "path needs a wkt LINESTRING", "道路需要几何（WKT LINESTRING）", column="wkt"
                )
            kind = rec.get("kind", "") or "footway"
            cid = _find_community(
                work, rec.get("community", ""), shapely.line_interpolate_point(geom, 0.5, normalized=True), at
            )
            rideable = (
                rec["rideable"]
                if "rideable" in rec and str(rec.get("rideable")) != ""
                else PATH_KINDS_RIDEABLE.get(kind, False)
            )
            for part in getattr(geom, "geoms", [geom]):
                rows.append(
                    {
                        "id": f"p-{rec.get('id') or point_key(part)}",
                        "community_id": cid,
                        "kind": kind,
                        "access": rec.get("access", ""),
                        "rideable": bool(rideable),
                        "source": rec["source"],
                        "geometry": part,
                    }
                )
        except _RowError as exc:
            work.skip("paths", rec, exc)
    work.append("paths", rows)


_APPLY = {
    "communities": _apply_communities,
    "buildings": _apply_buildings,
    "gates": _apply_gates,
    "units": _apply_units,
    "facilities": _apply_facilities,
    "paths": _apply_paths,
}
