"""Write the planner gap reports (``ridermap gaps`` and the ``gaps`` output of ``build``).

Layout of the output folder (replaced whole, atomically)::

    gaps.gpkg                 layers: units (every door: distances, gap flags), compounds (summary), sites (proposals)
    units.csv                 one row per door: id, community_id, no_gate, <kind>_m ..., <kind>_gap ...,
                              <kind>_status ... (ok / gap / no_gate / not_applicable), n_gaps
    summary.json              district totals + per compound
    summary.csv               one row per compound (doors, no_gate_doors, <kind>_gaps, <kind>_coverage_pct ...)
    sites.csv                 proposed sites per kind (MCLP k sites, LSCP minimal cover)
    gaps.html, lib/           offline web map (local Leaflet)
    pdf/<community id>.pdf    A3 map per compound

CSV files are UTF-8 with a byte-order mark so Excel opens the Chinese
labels correctly; distances are metres rounded to 0.1, empty when no path
reaches any facility of that kind or the door's compound has no usable gate
(``no_gate``). Doors of compounds without a usable gate are counted in
``no_gate_doors``, never as gaps; coverage percentages are over the
*assessed* doors (doors the kind applies to, minus ``no_gate`` doors).
Text cells that a spreadsheet would run
as a formula (``=…``, ``+…``, ``-…``, ``@…``) are written with a leading
``'`` (:func:`ridermap.safe_text.csv_frame`); numbers stay numbers.

Reproducible: the same inputs give the same bytes (fixed GeoPackage and
PDF dates from ``data_date`` / ``SOURCE_DATE_EPOCH``, stable HTML ids).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ridermap import i18n
from ridermap.analysis.context import Analysis
from ridermap.analysis.gaps import GapReport, gap_report
from ridermap.analysis.siting import candidate_sites, propose_sites
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import needs_draft
from ridermap.publish.atomic import atomic_dir
from ridermap.publish.figures import write_figure_pdf
from ridermap.publish.gpkg import fix_timestamps, fixed_timestamp
from ridermap.safe_text import csv_frame

log = logging.getLogger(__name__)

__all__ = [
    "GapAnalysis",
    "analyse_gaps",
    "gap_slices",
    "units_table",
    "write_gap_pdf",
    "write_gap_tables",
    "write_gaps",
]


#: columns of ``sites.csv`` and the ``proposals`` layer, in order
SITE_COLUMNS = (
    "kind",
    "method",
    "rank",
    "near",
    "newly_covered",
    "covers",
    "candidate_id",
    "source",
    "unit_ids",
    "lon",
    "lat",
)


def _compound_names(bundle: Bundle) -> dict[str, str]:
    """Compound id -> its name as every table prints it (never the OSM id; 待核实 when inferred)."""
    from ridermap.render.honest import compound_title

    return {
        c: compound_title(n, i, "zh")[0]
        for c, n, i in zip(bundle.communities["id"], bundle.communities["name"], bundle.communities["inferred"])
    }


def door_addresses(report: GapReport, bundle: Bundle) -> list[str]:
    """The standard address of each door of ``report.units``: compound, building, unit (``锦华苑 7号楼 2单元``)."""

    names = _compound_names(bundle)
    b = bundle.buildings
    keys = b["survey_key"].fillna("").astype(str) if "survey_key" in b else pd.Series("", index=b.index)
    buildings = {
        bid: (lab or (f"未编号楼栋 {k}" if k else ""))
        for bid, lab, k in zip(b["id"], b["label"].fillna("").astype(str), keys)
    }
    u = report.units
    out = []
    for cid, bid, label, door in zip(u["community_id"], u["building_id"], u["label"].fillna("").astype(str), u["door"]):
        unit = label if door == "unit" else ""
        out.append(" ".join(x for x in (names.get(cid, ""), buildings.get(bid, ""), unit) if x))
    return out


def units_table(report: GapReport, bundle: Bundle | None = None) -> pd.DataFrame:
    """The CSV table: ``id``, ``community_id``, ``address`` (with ``bundle``), ``no_gate``, ``<kind>_m`` per
    kind, ``<kind>_gap`` and ``<kind>_status`` per kind with a target, ``n_gaps``."""
    u = report.units
    out = {"id": u["id"], "community_id": u["community_id"]}
    if bundle is not None:
        out["address"] = door_addresses(report, bundle)
    out["no_gate"] = u["no_gate"].astype(int)
    for kind in report.kinds:
        d = u[f"{kind}_m"].to_numpy(dtype=float)
        out[f"{kind}_m"] = np.where(np.isfinite(d), np.round(d, 1), np.nan)
    for kind in report.kinds:
        if kind in report.targets_m:
            out[f"{kind}_gap"] = u[f"{kind}_gap"].astype(int)
    for kind in report.kinds:
        if kind in report.targets_m:
            out[f"{kind}_status"] = u[f"{kind}_status"]
    out["n_gaps"] = u["n_gaps"]
    return pd.DataFrame(out)


def summary_table(report: GapReport) -> pd.DataFrame:
    """One row per compound (``report.communities``) plus each kind's target and travel mode."""
    from ridermap.analysis.gaps import KIND_MODE

    table = report.communities.copy()
    for kind in report.kinds:
        if kind in report.targets_m:
            table[f"{kind}_target_m"] = float(report.targets_m[kind])
            table[f"{kind}_mode"] = KIND_MODE.get(kind, "walk")
    return table


def sites_table(analysis: GapAnalysis, bundle: Bundle) -> pd.DataFrame:
    """The proposals described: where (``near``: outside which gate, or beside which building) and which doors
    they would newly cover (``covers``: addresses), with lon/lat."""
    sites = analysis.sites
    if sites is None or not len(sites):
        return pd.DataFrame(columns=list(SITE_COLUMNS))
    addresses = dict(zip(analysis.report.units["id"], door_addresses(analysis.report, bundle)))
    rows = pd.DataFrame(sites.drop(columns="geometry"))
    rows.insert(3, "near", _near(sites, bundle, addresses, analysis.report))
    rows.insert(
        5, "covers", [_covers([addresses.get(u, u) for u in str(ids).split(";") if u]) for ids in rows["unit_ids"]]
    )
    rows["lon"] = sites.geometry.x.round(7)
    rows["lat"] = sites.geometry.y.round(7)
    return rows[[c for c in SITE_COLUMNS if c in rows.columns] + [c for c in rows.columns if c not in SITE_COLUMNS]]


def _covers(addresses: list[str], shown: int = 8) -> str:
    text = "；".join(addresses[:shown])
    return text + (i18n.t("gapcsv.more", "zh", n=len(addresses)) if len(addresses) > shown else "")


def _near(sites: gpd.GeoDataFrame, bundle: Bundle, addresses: dict, report: GapReport) -> list[str]:
    """Each proposal's nearest gate (``锦华苑南门外约35米``) or, failing one within 150 m, nearest door."""
    from ridermap.utm import utm_crs

    if not len(sites):
        return []
    metric = utm_crs(sites)
    pts = sites.to_crs(metric).geometry
    names = _compound_names(bundle)
    gates = bundle.gates.to_crs(metric)
    doors = report.units.to_crs(metric)
    out = []
    for pt in pts:
        if len(gates):
            d = gates.distance(pt).to_numpy()
            k = int(np.argmin(d))
            if d[k] <= 150:
                g = gates.iloc[k]
                out.append(
                    i18n.t(
                        "gapcsv.near_gate",
                        "zh",
                        compound=names.get(g["community_id"], ""),
                        gate=g["name"] or "",
                        m=f"{d[k]:.0f}",
                    )
                )
                continue
        if len(doors):
            d = doors.distance(pt).to_numpy()
            k = int(np.argmin(d))
            out.append(
                i18n.t("gapcsv.near_building", "zh", address=addresses.get(doors["id"].iloc[k], ""), m=f"{d[k]:.0f}")
            )
        else:
            out.append("")
    return out


def headers(frame: pd.DataFrame, kinds: tuple[str, ...], lang: str) -> pd.DataFrame:
    """``frame`` with its column ids as headers in ``lang`` (``en``: the ids themselves)."""
    if i18n.language(lang) == "en":
        return frame
    labels = {k: i18n.t(f"facility.{k}", "zh") for k in kinds}
    renamed = {}
    for col in frame.columns:
        key = f"gapcsv.{col}"
        if key in i18n.MESSAGES:
            renamed[col] = i18n.t(key, "zh")
            continue
        for kind in sorted(kinds, key=len, reverse=True):
            suffix = col[len(kind) + 1 :] if col.startswith(kind + "_") else ""
            if suffix and f"gapcsv.kind_{suffix}" in i18n.MESSAGES:
                renamed[col] = i18n.t(f"gapcsv.kind_{suffix}", "zh", kind=labels[kind])
                break
    return frame.rename(columns=renamed)


@dataclass(frozen=True)
class GapAnalysis:
    """The district's gap report and siting proposals (:func:`analyse_gaps`)."""

    report: GapReport
    sites: gpd.GeoDataFrame | None
    siting: list
    k: int


def analyse_gaps(
    bundle: Bundle, *, config, candidates: gpd.GeoDataFrame | None = None, k: int = 3, analysis: Analysis | None = None
) -> GapAnalysis:
    """Distances, gaps and siting proposals of the whole district (see :func:`write_gaps`); ``analysis``: the
    build's :class:`~ridermap.analysis.context.Analysis` (its one network), made here when not given."""
    net = (analysis if analysis is not None else Analysis(bundle)).network()
    report = gap_report(bundle, config=config, network=net)
    cands = candidate_sites(bundle, net, user=candidates)
    results = [
        propose_sites(report, bundle, net, kind=kind, k=k, candidates=cands)
        for kind in report.kinds
        if kind in report.targets_m
    ]
    frames = [r.sites for r in results if len(r.sites)]
    sites = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326") if frames else None
    )
    return GapAnalysis(report, sites, results, k)


def gap_slices(analysis: GapAnalysis, bundle: Bundle, ids: list[str]):
    """One :class:`~ridermap.render.gapmap.GapSlice` per compound of ``ids`` (the district projected once)."""
    from ridermap.render.gapmap import GapMapLayers

    layers = GapMapLayers(analysis.report, bundle)
    for cid in ids:
        yield layers.subset(cid, sites=analysis.sites)


def write_gap_pdf(part, path: str | Path, *, config) -> Path:
    """The A3 gap map of one compound (a :class:`~ridermap.render.gapmap.GapSlice`) as a PDF at ``path``."""
    from ridermap.render.gapmap import slice_figure

    path = Path(path)
    draft = needs_draft(getattr(config, "draft", "auto"), part.bundle.gates, part.community_id)
    fig = slice_figure(part, language=config.language, draft=draft)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_figure_pdf(
        fig, path, title=f"ridermap gaps {part.community_id}", created=fixed_timestamp(config.data_date)
    )


def write_gap_tables(
    analysis: GapAnalysis, bundle: Bundle, folder: str | Path, *, config, html: bool = True
) -> list[Path]:
    """Everything of the gap reports but the PDF maps, into the existing ``folder``; the files written."""
    from ridermap.render.gapmap import gap_map_html, leaflet_files

    tmp = Path(folder)
    report, sites, results = analysis.report, analysis.sites, analysis.siting
    written: list[str] = []
    lang = getattr(config, "language", "zh")
    _write_gpkg(analysis, bundle, tmp / "gaps.gpkg", data_date=config.data_date)
    written.append("gaps.gpkg")
    kinds = report.kinds
    for name, table in (
        ("units.csv", units_table(report, bundle)),
        ("summary.csv", summary_table(report)),
        ("sites.csv", sites_table(analysis, bundle)),
    ):
        csv_frame(headers(table, kinds, lang)).to_csv(tmp / name, index=False, encoding="utf-8-sig")
    summary = {
        "district": report.district,
        "targets_m": report.targets_m,
        "siting": [
            {
                "kind": r.kind,
                "radius_m": r.radius_m,
                "gap_doors": r.gap_doors,
                "coverable": r.coverable,
                "k": analysis.k,
                "mclp_covered": r.mclp_covered,
                "lscp_sites": r.lscp_sites,
            }
            for r in results
        ],
        "communities": json.loads(report.communities.to_json(orient="records", force_ascii=False)),
    }
    (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    written += ["units.csv", "summary.csv", "summary.json", "sites.csv"]
    if html:
        page = gap_map_html(report, bundle, sites=sites, language=config.language)
        (tmp / "gaps.html").write_text(page, encoding="utf-8")
        written.append("gaps.html")
        for rel, src in leaflet_files().items():
            dst = tmp / "lib" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(f"lib/{rel}")
    return [tmp / w for w in written]


def _write_gpkg(analysis: GapAnalysis, bundle: Bundle, path: Path, *, data_date: str) -> None:
    """Five typed layers, as QGIS opens them: compounds (MultiPolygon), buildings (MultiPolygon), doors,
    facilities and proposals (Point), with the gap figures on doors and compounds."""
    report, sites = analysis.report, analysis.sites
    comp = report.communities.merge(bundle.communities[["id", "geometry"]], on="id", how="left")
    comp = gpd.GeoDataFrame(comp, geometry="geometry", crs="EPSG:4326")
    comp["geometry"] = _multi(comp.geometry)
    pyogrio.write_dataframe(comp, path, layer="compounds", driver="GPKG", geometry_type="MultiPolygon")
    b = bundle.buildings[["id", "community_id", "number", "label", "geometry"]].copy()
    b["geometry"] = _multi(b.geometry)
    pyogrio.write_dataframe(b, path, layer="buildings", driver="GPKG", geometry_type="MultiPolygon")
    doors = report.units.copy()
    doors.insert(2, "address", door_addresses(report, bundle))
    for kind in report.kinds:
        doors[f"{kind}_gap"] = doors[f"{kind}_gap"].astype(bool)
    pyogrio.write_dataframe(_finite(doors), path, layer="doors", driver="GPKG", geometry_type="Point")
    fac = bundle.facilities[["id", "kind", "name", "community_id", "geometry"]].copy()
    fac["geometry"] = [g if g is None or g.geom_type == "Point" else g.representative_point() for g in fac.geometry]
    pyogrio.write_dataframe(fac, path, layer="facilities", driver="GPKG", geometry_type="Point")
    proposals = sites_table(analysis, bundle).drop(columns=["lon", "lat"], errors="ignore")
    geometry = list(sites.geometry) if sites is not None and len(sites) else []
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(proposals, geometry=geometry, crs="EPSG:4326"),
        path,
        layer="proposals",
        driver="GPKG",
        geometry_type="Point",
    )
    fix_timestamps(path, data_date=data_date)


def _multi(geoms: gpd.GeoSeries) -> list:
    """Polygons as MultiPolygons (one geometry type per layer)."""
    return [shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g for g in geoms]


def write_gaps(
    bundle: Bundle,
    outdir: str | Path,
    *,
    config,
    candidates: gpd.GeoDataFrame | None = None,
    k: int = 3,
    pdf: bool = True,
    html: bool = True,
    analysis: Analysis | None = None,
) -> list[Path]:
    """Compute gaps and siting proposals for ``bundle`` and write every report.

    Parameters
    ----------
    bundle
        The district bundle (all compounds, streets, facilities).
    outdir
        Output folder; replaced whole when everything is written.
    config
        A :class:`~ridermap.config.Config` (``targets_m``, ``language``,
        ``communities``).
    candidates
        Planner-supplied candidate sites (WGS84 points), added to the
        generated gate fronts, junctions and kerbside points.
    k
        New sites to propose per kind (MCLP).
    pdf, html
        Write the per-compound PDF maps / the web map.
    analysis
        The build's :class:`~ridermap.analysis.context.Analysis` of
        ``bundle`` (its network is shared with validation and routes);
        made here when not given.

    Returns
    -------
    list of Path
        Every file written, at its final place.
    """
    outdir = Path(outdir)
    gaps = analyse_gaps(bundle, config=config, candidates=candidates, k=k, analysis=analysis)
    ids = list(config.communities) or bundle.community_ids()
    with atomic_dir(outdir) as tmp:
        tmp.chmod(0o755)  # a report folder others read (mkdtemp makes it private)
        written = [p.relative_to(tmp) for p in write_gap_tables(gaps, bundle, tmp, config=config, html=html)]
        if pdf:
            (tmp / "pdf").mkdir()
            for part in gap_slices(gaps, bundle, ids):
                written.append(
                    write_gap_pdf(part, tmp / "pdf" / f"{part.community_id}.pdf", config=config).relative_to(tmp)
                )
    log.info("gaps: wrote %d files to %s", len(written), outdir)
    return [outdir / w for w in written]


def _finite(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Infinite distances become nulls (GeoPackage has no infinity)."""
    out = gdf.copy()
    for col in out.columns:
        if col.endswith("_m") and out[col].dtype.kind == "f":
            out[col] = out[col].where(np.isfinite(out[col]))
    return out
