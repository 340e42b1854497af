"""Author the sample compound 锦华苑 (fictional) in Chengdu, Jinjiang (510104).

Writes, next to this file:

* ``base.osm``    - what OSM might hold: outline, streets, internal roads and
                    footways, 12 buildings (3 unnamed), unit entrances of
                    buildings 1-4, three gates without rider rules, a charger
                    and a toilet. WGS84, as OSM is.
* ``survey.xlsx`` - what a grid worker adds, with coordinates copied from AMap
                    (GCJ-02): the compound's rider rule, gate rules, numbers of
                    the three unnamed buildings, unit doors of buildings 5-12,
                    rider parking, battery swap, parcel locker, rider station,
                    drinking water, transfer bicycles.

Run ``python data/sample/make_sample.py`` to regenerate; the outputs are
committed so ``ridermap build`` works without running it.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import shapely
from shapely.geometry import LineString

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from ridermap.crs import wgs84_to_gcj02  # noqa: E402

LAT0, LON0 = 30.65230, 104.08790  # SW corner of the compound (WGS84)
M_PER_DEG_LAT = 110850.0
M_PER_DEG_LON = 111320.0 * math.cos(math.radians(LAT0))


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres east/north of the SW corner -> WGS84 lon, lat."""
    return LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT


COLS = [(15, 55), (70, 110), (125, 165), (180, 220)]
ROWS = {"C": (125, 140), "B": (75, 90), "A": (25, 40)}  # north to south
ROAD_BELOW = {"C": 107.5, "B": 57.5, "A": 15.0}
# number -> (row, column, OSM name or None, levels, units)
BUILDINGS = {
    1: ("C", 0, "1号楼", 6, 2), 2: ("C", 1, "2栋", 6, 2), 3: ("C", 2, "3幢", 6, 2), 4: ("C", 3, "4座", 6, 2),
    5: ("B", 0, "5号楼", 18, 3), 6: ("B", 1, "六号楼", 18, 2), 7: ("B", 2, "7号楼", 18, 2), 8: ("B", 3, "8栋", 18, 2),
    9: ("A", 0, "9号楼", 11, 3), 10: ("A", 1, None, 11, 2), 11: ("A", 2, None, 11, 2), 12: ("A", 3, None, 11, 2),
}


def unit_xs(x0: float, n: int) -> list[float]:
    return [x0 + 10, x0 + 30] if n == 2 else [x0 + 8, x0 + 20, x0 + 32]


class OsmWriter:
    def __init__(self) -> None:
        self.nodes: dict[tuple[float, float], tuple[int, dict]] = {}
        self.ways: list[tuple[int, list[int], dict]] = []
        self.next_node, self.next_way = 100001, 2001

    def node(self, x: float, y: float, tags: dict | None = None) -> int:
        key = (round(x, 3), round(y, 3))
        if key in self.nodes:
            nid, old = self.nodes[key]
            old.update(tags or {})
            return nid
        nid = self.next_node
        self.next_node += 1
        self.nodes[key] = (nid, dict(tags or {}))
        return nid

    def way(self, pts: list[tuple[float, float]], tags: dict, *, way_id: int | None = None) -> int:
        wid = way_id or self.next_way
        self.next_way = max(self.next_way, wid) + 1
        self.ways.append((wid, [self.node(x, y) for x, y in pts], tags))
        return wid

    def xml(self) -> str:
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<osm version="0.6" generator="ridermap sample (authored, fictional)">']
        for (x, y), (nid, tags) in sorted(self.nodes.items(), key=lambda kv: kv[1][0]):
            lon, lat = lonlat(x, y)
            body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items())
            end = f">{body}</node>" if body else "/>"
            out.append(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"{end}')
        for wid, refs, tags in self.ways:
            out.append(f'  <way id="{wid}" version="1">')
            out += [f'    <nd ref="{r}"/>' for r in refs]
            out += [f"    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items()]
            out.append("  </way>")
        out.append("</osm>")
        return "\n".join(out) + "\n"


def _with_crossings(lines: list[tuple[list, dict]]) -> list[tuple[list, dict]]:
    """Insert every crossing point with the other lines as a vertex (shared node)."""
    geoms = [LineString(p) for p, _ in lines]
    out = []
    for i, (pts, tags) in enumerate(lines):
        g = geoms[i]
        extra = []
        for j, h in enumerate(geoms):
            if i != j and g.intersects(h):
                inter = g.intersection(h)
                extra += [(p.x, p.y) for p in getattr(inter, "geoms", [inter]) if p.geom_type == "Point"]
        allpts = {(round(x, 3), round(y, 3)) for x, y in list(pts) + extra}
        ordered = sorted(allpts, key=lambda p: g.project(shapely.Point(p)))
        out.append((ordered, tags))
    return out


def build_osm() -> OsmWriter:
    w = OsmWriter()
    # gates first so their nodes carry the tags
    w.node(117.5, 0, {"barrier": "gate", "name": "南门", "entrance": "main"})
    w.node(240, 107.5, {"barrier": "gate", "name": "东门"})
    w.node(80, 180, {"barrier": "gate", "name": "北门", "locked": "yes"})
    w.way([(0, 0), (117.5, 0), (240, 0), (240, 107.5), (240, 180), (80, 180), (0, 180), (0, 0)],
          {"landuse": "residential", "name": "锦华苑", "residential": "urban"}, way_id=1001)
    private = {"access": "private"}
    lines = [
        ([(-90, -14), (330, -14)], {"highway": "residential", "name": "华兴正街"}),
        ([(-16, -90), (-16, 260)], {"highway": "secondary", "name": "红星路二段"}),
        ([(256, -90), (256, 260)], {"highway": "residential", "name": "东风路北一巷"}),
        ([(-90, 196), (330, 196)], {"highway": "residential", "name": "玉沙路"}),
        ([(117.5, -14), (117.5, 0)], {"highway": "service"}),
        ([(240, 107.5), (256, 107.5)], {"highway": "service"}),
        ([(80, 180), (80, 196)], {"highway": "footway"}),
        ([(117.5, 0), (117.5, 160)], {"highway": "service", "name": "锦华苑中路", **private}),
        ([(5, 15), (235, 15)], {"highway": "service", **private}),
        ([(5, 57.5), (235, 57.5)], {"highway": "service", **private}),
        ([(5, 107.5), (240, 107.5)], {"highway": "service", **private}),
        ([(5, 160), (235, 160)], {"highway": "service", **private}),
        ([(5, 15), (5, 160)], {"highway": "service", **private}),
        ([(235, 15), (235, 160)], {"highway": "service", **private}),
        ([(80, 160), (80, 180)], {"highway": "footway", **private}),
    ]
    for number, (row, col, _name, _lv, n_units) in BUILDINGS.items():
        x0 = COLS[col][0]
        y0 = ROWS[row][0]
        for x in unit_xs(x0, n_units):
            lines.append(([(x, y0), (x, ROAD_BELOW[row])], {"highway": "footway", **private}))
    for pts, tags in _with_crossings(lines):
        w.way(pts, tags)
    # OSM unit entrances only for buildings 1-4; buildings 10-12 unnamed
    for number, (row, col, name, levels, n_units) in BUILDINGS.items():
        (x0, x1), (y0, y1) = COLS[col], ROWS[row]
        if number <= 4:
            for k, x in enumerate(unit_xs(x0, n_units), start=1):
                w.node(x, y0, {"entrance": "staircase", "ref": str(k)})
        ring = [(x0, y0)] + ([(x, y0) for x in unit_xs(x0, n_units)] if True else []) + [(x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        tags = {"building": "residential", "building:levels": levels}
        if name:
            tags["name"] = name
        w.way(ring, tags)
    w.node(105, 8, {"amenity": "charging_station", "bicycle": "yes", "motorcar": "no", "name": "南门充电桩"})
    w.node(40, -24, {"amenity": "toilets", "name": "华兴正街公厕"})
    return w


def _gcj(x: float, y: float) -> tuple[float, float]:
    lon, lat = wgs84_to_gcj02(*lonlat(x, y))
    return round(float(lon[0]), 7), round(float(lat[0]), 7)


def build_survey() -> dict[str, pd.DataFrame]:
    def pt(x, y):
        lon, lat = _gcj(x, y)
        return {"经度": lon, "纬度": lat}

    communities = pd.DataFrame([{"编码": "jhy", "名称": "锦华苑", "骑手通行": "可骑行", "时段": ""}])
    gates = pd.DataFrame([
        {"小区": "锦华苑", "名称": "南门", "骑手通行": "可骑行", "时段": "Mo-Su 00:00-11:00,13:30-17:00,19:30-24:00", "上锁": "否", **pt(117.5, 0)},
        {"小区": "锦华苑", "名称": "东门", "骑手通行": "步行", "时段": "", "上锁": "否", **pt(240, 107.5)},
        {"小区": "锦华苑", "名称": "北门", "骑手通行": "禁止", "时段": "", "上锁": "是", **pt(80, 180)},
    ])
    buildings = []
    for number, (row, col, name, levels, _n) in BUILDINGS.items():
        if name is None:
            (x0, x1), (y0, y1) = COLS[col], ROWS[row]
            buildings.append({"小区": "锦华苑", "编号": str(number), "标注": f"{number}号楼", "层数": levels,
                              **pt((x0 + x1) / 2, (y0 + y1) / 2)})
    units = []
    for number, (row, col, _name, levels, n_units) in BUILDINGS.items():
        if number <= 4:
            continue
        x0, y0 = COLS[col][0], ROWS[row][0]
        for k, x in enumerate(unit_xs(x0, n_units), start=1):
            flats = f"{k}01-{levels}0{2 if n_units == 3 else 4}"
            units.append({"小区": "锦华苑", "楼号": str(number), "单元号": str(k), "标注": f"{k}单元",
                          "房号范围": flats, **pt(x, y0)})
    facilities = pd.DataFrame([
        {"类型": "rider_parking", "名称": "南门骑手停车点", **pt(130, 8)},
        {"类型": "rider_parking", "名称": "东门外骑手停车点", **pt(264, 100)},
        {"类型": "battery_swap", "名称": "华兴正街换电柜", **pt(140, -22)},
        {"类型": "parcel_locker", "名称": "东门智能快递柜", **pt(228, 100)},
        {"类型": "rider_station", "名称": "华兴暖新驿站", **pt(200, -24)},
        {"类型": "drinking_water", "名称": "驿站饮水点", **pt(204, -24)},
        {"类型": "transfer_bicycle", "名称": "南门换乘自行车", **pt(110, -6)},
    ])
    return {"communities": communities, "gates": gates, "buildings": pd.DataFrame(buildings),
            "units": pd.DataFrame(units), "facilities": facilities}


def main() -> None:
    (HERE / "base.osm").write_text(build_osm().xml(), encoding="utf-8")
    with pd.ExcelWriter(HERE / "survey.xlsx", engine="openpyxl") as xw:
        for sheet, df in build_survey().items():
            df.to_excel(xw, sheet_name=sheet, index=False)
    print(f"wrote {HERE / 'base.osm'} and {HERE / 'survey.xlsx'}")


if __name__ == "__main__":
    main()
