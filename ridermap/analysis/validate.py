"""Validation: a plain list of what is wrong or missing in a bundle.

Each :class:`Finding` has a severity (``error`` / ``warning``), the layer,
the feature id, its source (file and row, or OSM id) and a message in
Chinese and English. ``ridermap validate`` exits 1 when any error is found.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from ridermap.crs import bd09_to_wgs84, gcj02_to_wgs84
from ridermap.hours import check_hours
from ridermap.model.bundle import Bundle
from ridermap.model.findings import Finding
from ridermap.model.schema import CRS, LAYERS
from ridermap.safe_text import text_line
from ridermap.utm import utm_crs

log = logging.getLogger(__name__)

UNIT_NEAR_BUILDING_M = 5.0
UNIT_FAR_FROM_BUILDING_M = 30.0
GATE_ON_BOUNDARY_M = 3.0
#: a gate this far from its compound's outline is misplaced (error)
GATE_FAR_FROM_OUTLINE_M = 50.0
#: a facility this far from every compound is probably misplaced (warning)
FACILITY_FAR_M = 3000.0
SHIFT_SUSPECT_M = 100.0
SHIFT_FIXED_M = 25.0


def validate(bundle: Bundle, *, check_routes: bool = True, analysis=None) -> list[Finding]:
    """Run every check; findings sorted by severity, layer and id.

    Parameters
    ----------
    bundle
        The district.
    check_routes
        Check that every unit door is reached from a gate riders may use.
    analysis
        The build's :class:`~ridermap.analysis.context.Analysis` of
        ``bundle`` (its network is shared with routes and gaps); made here
        when not given.
    """
    findings: list[Finding] = list(bundle.findings)
    if bundle.communities.empty:
        findings.append(
            Finding(
                "error",
                "no_compound",
                "communities",
                "",
                "",
                "没有找到任何小区（landuse=residential 范围）",
                "no compound found (no landuse=residential polygon with buildings)",
            )
        )
        return findings
    metric = str(utm_crs(bundle.communities))
    findings += _empty_layers(bundle)
    findings += _buildings(bundle)
    findings += _units(bundle, metric)
    findings += _gates(bundle, metric)
    findings += _facilities_far(bundle, metric)
    findings += _hours(bundle)
    findings += _shifted_survey_points(bundle, metric)
    if check_routes:
        findings += _reachability(bundle, analysis)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.layer, f.id, f.code))


def _empty_layers(bundle: Bundle) -> list[Finding]:
    out = []
    zh = {
        "communities": "小区",
        "gates": "出入口",
        "buildings": "楼栋",
        "units": "单元门",
        "facilities": "设施",
        "paths": "道路",
    }
    for name in LAYERS:
        if getattr(bundle, name).empty:
            severity = "error" if name in ("buildings", "communities") else "warning"
            out.append(Finding(severity, "empty_layer", name, "", "", f"{zh[name]}图层为空", f"layer {name} is empty"))
    present = {name: set(getattr(bundle, name)["community_id"]) for name in ("gates", "units")}
    for cid in bundle.community_ids():
        for name in ("gates", "units"):
            layer = getattr(bundle, name)
            if len(layer) and cid not in present[name]:
                out.append(
                    Finding(
                        "warning",
                        "empty_layer",
                        name,
                        cid,
                        "",
                        f"小区 {cid} 没有{zh[name]}",
                        f"compound {cid} has no {name}",
                    )
                )
    return out


def _buildings(bundle: Bundle) -> list[Finding]:
    out = []
    b = bundle.buildings[bundle.buildings["community_id"] != ""]
    for _, row in b[b["number"] == ""].iterrows():
        out.append(
            Finding(
                "warning",
                "building_without_number",
                "buildings",
                row["id"],
                row["source"],
                f"楼栋没有楼号（{row['label'] or '无名称'}）",
                f"building has no number ({row['label'] or 'no name'})",
            )
        )
    numbered = b[(b["number"] != "") & (b["community_id"] != "")]
    for (cid, number), group in numbered.groupby(["community_id", "number"]):
        if len(group) > 1:
            # same label twice is a real duplicate; 7号楼 and 家属7号楼 only share the number
            same_label = group["label"].duplicated(keep=False)
            for (_, row), same in zip(group.iterrows(), same_label):
                out.append(
                    Finding(
                        "error" if same else "warning",
                        "duplicate_building_number",
                        "buildings",
                        row["id"],
                        row["source"],
                        f"小区 {cid} 中楼号 {number} 重复（{len(group)} 栋：{'、'.join(group['label'])}）",
                        f"building number {number} is used {len(group)} times in {cid} ({', '.join(group['label'])})",
                    )
                )
    return out


def _units(bundle: Bundle, metric: str) -> list[Finding]:
    out: list[Finding] = []
    u = bundle.units
    if u.empty:
        return out
    known = set(bundle.buildings["id"])
    for _, row in u[~u["building_id"].isin(known)].iterrows():
        out.append(
            Finding(
                "error",
                "unit_without_building",
                "units",
                row["id"],
                row["source"],
                f"单元门所属楼栋 {row['building_id']} 不存在",
                f"unit's building {row['building_id']} does not exist",
            )
        )
    for _, row in u[u["number"] == ""].iterrows():
        out.append(
            Finding(
                "warning",
                "unit_without_number",
                "units",
                row["id"],
                row["source"],
                "单元门没有单元号",
                "unit door has no unit number",
            )
        )
    numbered = u[u["number"] != ""]
    for (bid, number), group in numbered.groupby(["building_id", "number"]):
        if len(group) > 1:
            for _, row in group.iterrows():
                out.append(
                    Finding(
                        "error",
                        "duplicate_unit_number",
                        "units",
                        row["id"],
                        row["source"],
                        f"楼栋 {bid} 中单元号 {number} 重复",
                        f"unit number {number} is used {len(group)} times in {bid}",
                    )
                )
    have = u[u["building_id"].isin(known)]
    if len(have):
        bgeom = bundle.buildings.set_index("id").geometry.to_crs(metric)
        upts = have.geometry.to_crs(metric)
        if bgeom.index.is_unique:
            dist = shapely.distance(bgeom.values[bgeom.index.get_indexer(have["building_id"])], upts.values)
        else:
            dist = np.array([bgeom.loc[bid].distance(p) for bid, p in zip(have["building_id"], upts)])
        for (_, row), d in zip(have.iterrows(), dist):
            if d > UNIT_NEAR_BUILDING_M:
                severity = "error" if d > UNIT_FAR_FROM_BUILDING_M else "warning"
                out.append(
                    Finding(
                        severity,
                        "unit_far_from_building",
                        "units",
                        row["id"],
                        row["source"],
                        f"单元门距所属楼栋 {d:.0f} 米（应在楼栋外墙上）",
                        f"unit door is {d:.0f} m from its building",
                        column="lon",
                    )
                )
    return out


def _gates(bundle: Bundle, metric: str) -> list[Finding]:
    out = []
    g = bundle.gates
    comm = bundle.communities.set_index("id")
    rings = comm.geometry.to_crs(metric).boundary
    mine = g[g["community_id"].isin(rings.index)]
    if rings.index.is_unique:  # every gate projected at once, each to its compound's ring
        dist = shapely.distance(
            rings.values[rings.index.get_indexer(mine["community_id"])], mine.geometry.to_crs(metric).values
        )
    else:
        dist = [
            rings.loc[cid].distance(gpd.GeoSeries([p], crs=CRS).to_crs(metric).iloc[0])
            for cid, p in zip(mine["community_id"], mine.geometry)
        ]
    for (_, row), d in zip(mine.iterrows(), dist):
        if d > GATE_FAR_FROM_OUTLINE_M:
            out.append(
                Finding(
                    "error",
                    "gate_far_from_compound",
                    "gates",
                    row["id"],
                    row["source"],
                    f"出入口“{row['name']}”距小区边界 {d:.0f} 米（超过 {GATE_FAR_FROM_OUTLINE_M:.0f} 米："
                    "位置或所属小区有误）",
                    f"gate {row['name']!r} is {d:.0f} m from its compound's outline (more than "
                    f"{GATE_FAR_FROM_OUTLINE_M:.0f} m: wrong place or wrong compound)",
                    column="lon",
                )
            )
        elif d > GATE_ON_BOUNDARY_M:
            out.append(
                Finding(
                    "warning",
                    "gate_off_boundary",
                    "gates",
                    row["id"],
                    row["source"],
                    f"出入口“{row['name']}”不在小区边界上（相距 {d:.0f} 米）",
                    f"gate {row['name']!r} is {d:.0f} m off the compound boundary",
                    column="lon",
                )
            )
    usable = set(g.loc[(g["rider_access"] != "none") & (~g["locked"]), "community_id"])
    for cid, crow in comm.iterrows():
        if cid not in usable:
            out.append(
                Finding(
                    "error",
                    "no_rider_gate",
                    "communities",
                    cid,
                    crow["source"],
                    f"小区“{crow['name']}”没有骑手可用的出入口",
                    f"compound {crow['name']!r} has no gate riders may use",
                )
            )
    return out


def _facilities_far(bundle: Bundle, metric: str) -> list[Finding]:
    """Facilities more than :data:`FACILITY_FAR_M` from every compound."""
    f = bundle.facilities[bundle.facilities.geometry.notna()]
    if f.empty:
        return []
    areas = bundle.communities.geometry.to_crs(metric).union_all()
    dist = f.geometry.to_crs(metric).distance(areas).values
    out = []
    for (_, row), d in zip(f.iterrows(), dist):
        if d > FACILITY_FAR_M:
            out.append(
                Finding(
                    "warning",
                    "facility_far",
                    "facilities",
                    row["id"],
                    row["source"],
                    f"设施“{row['name'] or row['kind']}”距最近的小区 {d / 1000:.1f} 公里（超过 "
                    f"{FACILITY_FAR_M / 1000:g} 公里：坐标或坐标系有误？）",
                    f"facility {row['name'] or row['kind']!r} is {d / 1000:.1f} km from every compound (more than "
                    f"{FACILITY_FAR_M / 1000:g} km: wrong coordinates or CRS?)",
                    column="lon",
                )
            )
    return out


def _hours(bundle: Bundle) -> list[Finding]:
    """Rider-rule hours (OSM ``opening_hours``) that do not parse, saying where they fail."""
    out = []
    for layer, table, column in (("gates", bundle.gates, "hours"), ("communities", bundle.communities, "rider_hours")):
        for _, row in table[table[column].astype(str).str.strip() != ""].iterrows():
            problem = check_hours(row[column])
            if problem is None:
                continue
            if problem.unsupported:
                out.append(
                    Finding(
                        "warning",
                        "hours_unsupported",
                        layer,
                        row["id"],
                        row["source"],
                        f"时段“{row[column]}”：{problem.message_zh}",
                        f"hours {row[column]!r}: {problem.message_en}",
                        column="hours",
                        value=row[column],
                    )
                )
            else:
                out.append(
                    Finding(
                        "error",
                        "hours_invalid",
                        layer,
                        row["id"],
                        row["source"],
                        f"时段“{row[column]}”写法无效：{problem.message_zh}（应如 Mo-Fr 07:00-09:00）",
                        f"hours {row[column]!r} are not valid opening_hours: {problem.message_en} (expected e.g. "
                        "Mo-Fr 07:00-09:00)",
                        column="hours",
                        value=row[column],
                    )
                )
    return out


def _shifted_survey_points(bundle: Bundle, metric: str) -> list[Finding]:
    """Survey unit doors far from every building that land on buildings as GCJ-02 / BD-09."""
    out: list[Finding] = []
    u = bundle.units
    if u.empty or bundle.buildings.empty:
        return out
    survey = u[~u["source"].str.startswith("osm:")]
    if survey.empty:
        return out
    files = survey["source"].str.split(":").str[0]
    buildings = bundle.buildings.geometry.to_crs(metric)
    tree_geoms = buildings.values

    tree = shapely.STRtree(tree_geoms)

    def _median_dist(lon, lat) -> float:
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=CRS).to_crs(metric).values
        idx = tree.nearest(pts)
        return float(np.median(shapely.distance(pts, tree_geoms[idx])))

    for name, group in survey.groupby(files):
        lon, lat = group.geometry.x.values, group.geometry.y.values
        now = _median_dist(lon, lat)
        if now < SHIFT_SUSPECT_M:
            continue
        for crs, fix in (("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)):
            fixed = _median_dist(*fix(lon, lat))
            if fixed < SHIFT_FIXED_M:
                out.append(
                    Finding(
                        "error",
                        "crs_shifted",
                        "units",
                        "",
                        name,
                        f'{name} 的点位距楼栋中位 {now:.0f} 米，按 {crs} 解读则仅 {fixed:.0f} 米：请声明 crs = "{crs}"',
                        f"{name}: points are a median {now:.0f} m from buildings; read as {crs} they are "
                        f'{fixed:.0f} m: declare crs = "{crs}"',
                    )
                )
                break
        else:
            out.append(
                Finding(
                    "warning",
                    "survey_far",
                    "units",
                    "",
                    name,
                    f"{name} 的单元门距楼栋中位 {now:.0f} 米",
                    f"{name}: unit doors are a median {now:.0f} m from buildings",
                )
            )
    return out


DOOR_ON_PATH_M = 5.0


def _reachability(bundle: Bundle, analysis=None) -> list[Finding]:
    """Units no rider-usable gate reaches along the paths (walking)."""
    from ridermap.analysis.context import Analysis
    from ridermap.analysis.network import reachable_within_groups

    if bundle.paths.empty or bundle.units.empty:
        return []
    net = (analysis if analysis is not None else Analysis(bundle)).network()
    cids = set(bundle.community_ids())
    g = bundle.gates
    gates = g[g["community_id"].isin(cids) & (g["rider_access"] != "none") & (~g["locked"])]
    units = bundle.units[bundle.units["community_id"].isin(set(gates["community_id"]))]
    if units.empty:
        return []
    # a door more than a few metres from every mapped path is not reached:
    # the rider would have to cross lawns or walls the map does not show;
    # one search over the district for every compound (not one per compound)
    reached = reachable_within_groups(
        net,
        gates.geometry,
        gates["community_id"],
        units.geometry,
        units["community_id"],
        mode="walk",
        max_snap_m=DOOR_ON_PATH_M,
    )
    order = {cid: i for i, cid in enumerate(dict.fromkeys(bundle.community_ids()))}
    lost = units[~reached]
    lost = lost.iloc[
        np.argsort([order[c] for c in lost["community_id"]], kind="stable")
    ]  # compound by compound, as before
    return [
        Finding(
            "warning",
            "unit_unreachable",
            "units",
            uid,
            source,
            f"单元门{DOOR_ON_PATH_M:.0f}米内没有与骑手可用出入口相连的道路",
            f"no mapped path within {DOOR_ON_PATH_M:.0f} m of this unit door connects to a gate riders may use",
        )
        for uid, source in zip(lost["id"], lost["source"])
    ]


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def format_text(findings: list[Finding], *, language: str = "zh") -> str:
    """One line per finding, then a count.

    Every field is printed with control characters escaped, so no name can
    forge a line of the report.
    """
    lines = []
    for f in findings:
        where = " ".join(text_line(x) for x in (f.layer, f.id, f"({f.source})" if f.source else "") if x)
        lines.append(
            f"{text_line(f.severity.upper()):7} {text_line(f.code):26} {where}: {text_line(f.message(language))}"
        )
    n_err = sum(f.severity == "error" for f in findings)
    n_warn = len(findings) - n_err
    lines.append(f"{n_err} 个错误，{n_warn} 个警告" if language == "zh" else f"{n_err} errors, {n_warn} warnings")
    return "\n".join(lines) + "\n"
