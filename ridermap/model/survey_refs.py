"""Resolve survey rows that name features by key or place them by mark, before the merge.

A survey pack (:mod:`ridermap.publish.survey_pack`) lets a grid worker fill a
sheet without coordinates:

* ``调查编号`` (``key``) names an existing feature: ``B07`` (building),
  ``G3`` (gate), ``U07-2`` (unit door), or a facility id. The row gets what
  :func:`ridermap.model.merge.merge_survey` needs to match it: a point inside
  the building, the gate's location, the door's location.
* ``位置标记`` (``mark``) places a new gate, unit door or facility: ``S3`` (the
  3rd mark along the compound outline) or ``B07 南 2`` (the 2nd mark along
  the south wall of B07); see :mod:`ridermap.model.survey_keys`.
* ``经度``/``纬度`` (any declared CRS) still work as before.

Rules: a row whose ``调查编号`` is ``示例`` (the pack's example row) is
ignored; a keyed row that repeats exactly what the model already has (an
untouched pre-filled row) is dropped, so an unfilled pack applies as a no-op;
a row that confirms something ridermap inferred (a gate candidate's rider
rule, its location) clears that attribute from ``inferred``; an unknown key or
mark is a :class:`~ridermap.model.findings.Finding` naming the file, row and
column, and the row is skipped (an unknown key with a location still adds a
new feature, with a warning).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd

from ridermap import ids
from ridermap.model.bundle import Bundle
from ridermap.model.findings import Finding
from ridermap.model.schema import CRS, INFERRED_SEP
from ridermap.model.survey_keys import compound_marks, normalise_ref, same_building_key
from ridermap.numbers import parse_building_number, parse_unit_number

log = logging.getLogger(__name__)

#: value of ``调查编号`` on the pack's example rows: such rows are never applied.
EXAMPLE_KEY = "示例"
_COLUMN_ZH = {"key": "调查编号", "mark": "位置标记", "community": "小区"}
_UNIT_KEY = re.compile(r"^U(\d+)-(\d+)$")
_FALLBACK_GATE_NAME = re.compile(r"^(东北|东南|西北|西南|东|南|西|北)?侧?出入口\d*$")


def is_example(value: object) -> bool:
    """True for the example-row marker (``示例``, ``example``)."""
    return str(value or "").strip().lower() in (EXAMPLE_KEY, "example")


def _where(source: str) -> tuple[str, str]:
    """``survey.xlsx:units:12`` -> Chinese and English 'file sheet row' phrases."""
    parts = str(source).rsplit(":", 2)
    if len(parts) != 3:
        return str(source), str(source)
    name, sheet, row = parts
    return f"{name} 工作表 {sheet} 第 {row} 行", f"{name} sheet {sheet} row {row}"


class _Resolver:
    """Per-file state: the base bundle, marks per compound, findings, inferred flags to clear."""

    def __init__(self, base: Bundle, tables: dict[str, gpd.GeoDataFrame], admin_code: str):
        self.base = base
        self.tables = tables
        self.admin_code = admin_code
        self.findings: list[Finding] = []
        self.confirm: list[tuple[str, str, set[str]]] = []
        self._marks: dict[str, gpd.GeoDataFrame] = {}
        self.rekey = self._community_rekeys()
        self.file_cid = self._file_compound()

    # --- compounds ---------------------------------------------------------
    def find_cid(self, text: str) -> str:
        comm = self.base.communities
        text = (text or "").strip()
        if not text:
            return ""
        for col in ("id", "name"):
            hit = comm[comm[col] == text]
            if len(hit):
                return str(hit["id"].iloc[0])
        hit = comm[comm["id"].str.endswith("-" + ids.slug(text))]
        return str(hit["id"].iloc[0]) if len(hit) else ""

    def _file_compound(self) -> str:
        """The one compound this file's rows name (a survey pack is per compound), else ''."""
        found = set()
        for table in self.tables.values():
            if "community" in table:
                found |= {self.find_cid(v) for v in table["community"] if str(v).strip()}
        found.discard("")
        if len(found) == 1:
            return found.pop()
        return str(self.base.communities["id"].iloc[0]) if len(self.base.communities) == 1 else ""

    def _community_rekeys(self) -> dict[str, str]:
        """Old compound id -> new id, for compounds this file re-keys with 编码."""
        table = self.tables.get("communities")
        out: dict[str, str] = {}
        if table is None or "id" not in table:
            return out
        comm = self.base.communities
        for _, rec in table.iterrows():
            if not rec.get("id"):
                continue
            osm_id = str(rec.get("osm_id", "") or "").replace("way/", "").replace("relation/", "").lstrip("wr")
            hit = comm[comm["source"].str.endswith("/" + osm_id)] if osm_id else comm.iloc[0:0]
            if hit.empty and rec.get("name"):
                hit = comm[comm["name"] == rec["name"]]
            if len(hit):
                out[str(hit["id"].iloc[0])] = ids.community_id(self.admin_code, rec["id"])
        return out

    def marks(self, cid: str) -> gpd.GeoDataFrame:
        if cid not in self._marks:
            self._marks[cid] = compound_marks(self.base, cid)
        return self._marks[cid]

    # --- findings ----------------------------------------------------------
    def problem(self, severity: str, code: str, layer: str, rec, column: str, zh: str, en: str) -> None:
        at_zh, at_en = _where(rec["source"])
        value = str(rec.get(column, ""))
        self.findings.append(
            Finding(
                severity,
                code,
                layer,
                "",
                str(rec["source"]),
                f"{at_zh}：{zh}",
                f"{at_en}: {en}",
                column=_COLUMN_ZH.get(column, column),
                value=value,
            )
        )


def _unit_pair(key: str) -> tuple[int, int] | None:
    """``U07-2`` (or ``U7-2``) -> ``(7, 2)``."""
    m = _UNIT_KEY.match(key or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _feature_by_key(layer: str, base: Bundle, cid: str, key: str):
    frame = {"buildings": base.buildings, "gates": base.gates, "units": base.units}.get(layer)
    if layer == "facilities":
        hit = base.facilities[base.facilities["id"].str.lower() == key.lower()]
        return hit.iloc[0] if len(hit) else None
    if frame is None:
        return None
    mine = frame[frame["community_id"] == cid] if cid else frame
    if layer == "buildings":
        hit = mine[[same_building_key(k, key) for k in mine["survey_key"]]]
    elif layer == "units":
        want = _unit_pair(key)
        hit = mine[[want is not None and _unit_pair(k) == want for k in mine["survey_key"]]]
    else:
        hit = mine[[k.upper() == key.upper() for k in mine["survey_key"]]]
    return hit.iloc[0] if len(hit) else None


def _same_text(new: object, old: object) -> bool:
    return str(new or "").strip() == str(old if old is not None and not pd.isna(old) else "").strip()


def _changed(layer: str, rec, feat) -> set[str]:
    """The attributes a keyed row sets to a value different from the feature's."""
    out = set()
    if rec.geometry is not None or str(rec.get("mark", "")).strip():
        out.add("location")
    table: dict[str, tuple[tuple[str, Callable[[str], str]], ...]] = {
        "buildings": (("number", lambda v: parse_building_number(v) or v), ("label", str), ("levels", str)),
        "gates": (("name", str), ("rider_access", str), ("hours", str)),
        "units": (("unit", lambda v: parse_unit_number(v) or v), ("label", str), ("flats", str)),
        "facilities": (("kind", str), ("name", str)),
    }
    checks = table[layer]
    for col, norm in checks:
        value = str(rec.get(col, "") or "").strip()
        if not value:
            continue
        current = feat.get("number" if col == "unit" else col, "")
        if layer == "gates" and col == "name" and not current and _FALLBACK_GATE_NAME.match(value):
            continue  # the name ridermap gives an unnamed gate (finalise), as the pack printed it
        if col == "levels" and not pd.isna(current):
            value, current = str(int(float(value))) if re.fullmatch(r"\d+(\.0+)?", value) else value, str(int(current))
        if not _same_text(norm(value), current):
            out.add(col)
    if layer == "gates" and "locked" in rec and bool(rec["locked"]) != bool(feat["locked"]):
        out.add("locked")
    return out


_CONFIRMS = {
    "rider_access": {"rider_access"},
    "locked": {"rider_access"},
    "name": {"name"},
    "number": {"number"},
    "unit": {"number"},
}


def _resolve_key(r: _Resolver, layer: str, rec, cid: str, key: str) -> tuple[str, Any, Any] | None:
    """Return ('drop'|'keep', geometry, feature) for a keyed row, or None if the key is unknown."""
    feat = _feature_by_key(layer, r.base, cid, key)
    if feat is None:
        return None
    changed = _changed(layer, rec, feat)
    if not changed:
        return "drop", None, feat
    if layer in ("gates", "buildings", "units"):
        clear = {"location"} | set().union(*(_CONFIRMS.get(c, set()) for c in changed))
        r.confirm.append((layer, str(feat["id"]), clear))
    geom = feat.geometry
    if layer == "buildings":
        return "keep", (rec.geometry if rec.geometry is not None else geom.representative_point()), feat
    return "keep", (rec.geometry if rec.geometry is not None else geom), feat


def _resolve_mark(r: _Resolver, layer: str, rec, cid: str):
    """The mark's point and the marked building's row (for side marks), or (None, None)."""
    text = normalise_ref(rec.get("mark", ""))
    marks = r.marks(cid)
    parts = text.split(" ")
    if len(parts) == 3:
        hit = marks[(marks["side"] == parts[1]) & (marks["order"] == int(parts[2]))]
        hit = hit[[same_building_key(m.split(" ")[0], parts[0]) for m in hit["mark"]]]
    else:
        hit = marks[marks["mark"] == text]
    if hit.empty:
        return None, None
    bid = str(hit["building_id"].iloc[0])
    b = r.base.buildings
    brow = b[b["id"] == bid].iloc[0] if bid else None
    return hit.geometry.iloc[0], brow


def _building_number_for(r: _Resolver, brow) -> str:
    """The number a building has, or the one this same file gives it by key."""
    if brow is None:
        return ""
    if brow["number"]:
        return str(brow["number"])
    table = r.tables.get("buildings")
    if table is not None and "key" in table and "number" in table:
        for k, n in zip(table["key"], table["number"]):
            if same_building_key(normalise_ref(k), str(brow["survey_key"])) and str(n).strip():
                return parse_building_number(n) or str(n).strip()
    return ""


_NO: tuple[bool, dict] = (False, {})
_MARK_UNKNOWN = (
    "位置标记 {mark!r} 不在调查底图上（如 S3、B07 南 2）",
    "mark {mark!r} is not on the survey map (e.g. S3, B07 南 2)",
)


def _row_compound(r: _Resolver, layer: str, rec) -> str:
    """The compound a keyed or marked row belongs to ('' after a finding)."""
    text = str(rec.get("community", "") or "").strip()
    cid = r.find_cid(text) if text else r.file_cid
    if text and not cid:
        r.problem(
            "error",
            "survey_community_unknown",
            layer,
            rec,
            "community",
            f"小区 {text!r} 不存在",
            f"compound {text!r} not found",
        )
    elif not cid:
        r.problem(
            "error",
            "survey_community_missing",
            layer,
            rec,
            "community",
            "请填写小区（编码或名称）",
            "give the compound (id or name) in column 小区",
        )
    return cid


def _mark_point(r: _Resolver, layer: str, rec, cid: str, mark: str):
    geom, brow = _resolve_mark(r, layer, rec, cid)
    if geom is None:
        zh, en = _MARK_UNKNOWN
        r.problem("error", "survey_mark_unknown", layer, rec, "mark", zh.format(mark=mark), en.format(mark=mark))
    return geom, brow


def _keyed_row(r: _Resolver, layer: str, rec, cid: str, key: str, mark: str, sets: dict) -> tuple[bool, dict] | None:
    """A row whose key names an existing feature; ``None`` if the key is unknown (after a finding)."""
    found = _resolve_key(r, layer, rec, cid, key)
    if found is None:
        if not mark and rec.geometry is None:
            r.problem(
                "error",
                "survey_key_unknown",
                layer,
                rec,
                "key",
                f"调查编号 {key!r} 在小区 {cid} 中不存在",
                f"survey key {key!r} does not exist in compound {cid}",
            )
            return _NO
        r.problem(
            "warning",
            "survey_key_unknown",
            layer,
            rec,
            "key",
            f"调查编号 {key!r} 不存在，按新增处理",
            f"survey key {key!r} does not exist; added as a new feature",
        )
        return None
    action, geom, feat = found
    if action == "drop":
        return _NO
    sets["geometry"] = geom
    if layer != "units":
        return True, sets
    if not str(rec.get("building", "")).strip():
        b = r.base.buildings
        hit = b[b["id"] == feat["building_id"]]
        sets["building"] = _building_number_for(r, hit.iloc[0] if len(hit) else None)
    if mark:  # a known door moved to a mark
        geom, _ = _mark_point(r, layer, rec, cid, mark)
        if geom is None:
            return _NO
        sets["geometry"] = geom
    return True, sets


def _resolve_row(r: _Resolver, layer: str, rec) -> tuple[bool, dict]:
    """Whether to keep a row, and the cell values to set on it."""
    key = normalise_ref(rec.get("key", "")) if "key" in rec else ""
    mark = str(rec.get("mark", "") or "").strip() if "mark" in rec else ""
    if not key and not mark:
        return True, {}
    cid = _row_compound(r, layer, rec)
    if not cid:
        return _NO
    sets: dict = {"community": r.rekey.get(cid, cid)}
    if key and layer in ("buildings", "gates", "units", "facilities"):
        done = _keyed_row(r, layer, rec, cid, key, mark, sets)
        if done is not None:
            return done
    if mark and layer in ("gates", "units", "facilities"):
        geom, brow = _mark_point(r, layer, rec, cid, mark)
        if geom is None:
            return _NO
        if rec.geometry is not None:
            r.problem(
                "info",
                "survey_mark_and_lonlat",
                layer,
                rec,
                "mark",
                "同时填了位置标记和经纬度，使用位置标记",
                "both a mark and lon/lat given: the mark is used",
            )
        sets["geometry"] = geom
        if layer == "units" and not str(rec.get("building", "")).strip():
            sets["building"] = _building_number_for(r, brow)
    elif mark:
        r.problem(
            "warning",
            "survey_mark_ignored",
            layer,
            rec,
            "mark",
            "此表不使用位置标记，已忽略",
            "marks are not used on this sheet; ignored",
        )
    return True, sets


def _resolve_table(r: _Resolver, layer: str, table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = table.copy()
    if "key" in table:
        table = table[[not is_example(v) for v in table["key"]]]
    if "community" in table and r.rekey:
        table["community"] = [r.rekey.get(r.find_cid(v), v) if str(v).strip() else v for v in table["community"]]
    if not len(table) or ("key" not in table and "mark" not in table):
        return table.reset_index(drop=True)
    keep, geoms = [], list(table.geometry.values)
    for i, (_, rec) in enumerate(table.iterrows()):
        ok, sets = _resolve_row(r, layer, rec)
        keep.append(ok)
        for col, value in sets.items():
            if col == "geometry":
                geoms[i] = value
            else:
                if col not in table:
                    table[col] = ""
                table.iloc[i, table.columns.get_loc(col)] = value
    table = table.set_geometry(gpd.GeoSeries(geoms, index=table.index, crs=CRS))
    return table[keep].reset_index(drop=True)


def _unchanged_communities(r: _Resolver, table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop compound rows that repeat what the model has (an untouched pre-filled row)."""
    comm = r.base.communities
    keep = []
    for _, rec in table.iterrows():
        hit = comm[comm["name"] == rec.get("name", "")]
        if hit.empty or rec.get("id") or rec.geometry is not None:
            keep.append(True)
            continue
        c = hit.iloc[0]
        same = all(
            _same_text(rec.get(src), c[dst]) or not str(rec.get(src, "")).strip()
            for src, dst in (("rider_access", "rider_access"), ("hours", "rider_hours"))
        )
        keep.append(not same)
    return table[keep].reset_index(drop=True)


def _confirmed(base: Bundle, confirm: list[tuple[str, str, set[str]]]) -> Bundle:
    """Clear the attributes a survey row confirmed from ``inferred``."""
    if not confirm:
        return base
    layers = {}
    for layer in ("gates", "buildings", "units"):
        gdf = getattr(base, layer).copy()
        for lyr, fid, clear in confirm:
            if lyr != layer:
                continue
            sel = gdf["id"] == fid
            for i in gdf.index[sel]:
                parts = [p for p in str(gdf.at[i, "inferred"]).split(INFERRED_SEP) if p and p not in clear]
                gdf.at[i, "inferred"] = INFERRED_SEP.join(parts)
        layers[layer] = gdf
    return base.replace(**layers)


def resolve_survey_refs(
    base: Bundle, tables: dict[str, gpd.GeoDataFrame], *, admin_code: str, where: str = ""
) -> tuple[Bundle, dict[str, gpd.GeoDataFrame]]:
    """Resolve keys and marks of one survey file's tables against ``base``.

    Parameters
    ----------
    base
        The bundle the file will be merged into (keys already assigned).
    tables
        ``{layer: table}`` from :func:`ridermap.ingest.survey.read_survey`.
    admin_code
        For compounds the file re-keys (``编码``).
    where
        The file name (for log messages).

    Returns
    -------
    (Bundle, dict)
        ``base`` with the findings (and confirmed inferred attributes), and
        the tables to merge: example and untouched rows removed, rows with
        keys or marks given the geometry (and building number) the merge needs.
    """
    if not any("key" in t or "mark" in t for t in tables.values()) and "communities" not in tables:
        return base, tables
    r = _Resolver(base, tables, admin_code)
    out = {}
    for layer, table in tables.items():
        if layer == "communities":
            out[layer] = _unchanged_communities(r, _resolve_table(r, layer, table))
        else:
            out[layer] = _resolve_table(r, layer, table)
    dropped = sum(len(t) for t in tables.values()) - sum(len(t) for t in out.values())
    log.debug("%s: %d survey rows unchanged, example or unresolved", where, dropped)
    return _confirmed(base, r.confirm).with_findings(r.findings), out
