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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ridermap.analysis.gaps import GapReport, gap_report
from ridermap.analysis.context import Analysis
from ridermap.analysis.siting import candidate_sites, propose_sites
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import needs_draft
from ridermap.publish.atomic import atomic_dir
from ridermap.publish.gpkg import fix_timestamps, fixed_timestamp
from ridermap.safe_text import csv_frame

log = logging.getLogger(__name__)

__all__ = ["write_gaps", "units_table"]


def units_table(report: GapReport) -> pd.DataFrame:
    """The CSV table: ``id``, ``community_id``, ``no_gate``, ``<kind>_m`` per kind, ``<kind>_gap`` and
    ``<kind>_status`` per kind with a target, ``n_gaps``."""
    u = report.units
    out = {"id": u["id"], "community_id": u["community_id"], "no_gate": u["no_gate"].astype(int)}
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


def write_gaps(bundle: Bundle, outdir: str | Path, *, config, candidates: gpd.GeoDataFrame | None = None, k: int = 3,
               pdf: bool = True, html: bool = True, analysis: Analysis | None = None) -> list[Path]:
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
    from ridermap.render.gapmap import GapMapLayers, gap_figure, gap_map_html, leaflet_files

    outdir = Path(outdir)
    net = (analysis if analysis is not None else Analysis(bundle)).network()
    report = gap_report(bundle, config=config, network=net)
    cands = candidate_sites(bundle, net, user=candidates)
    results = [propose_sites(report, bundle, net, kind=kind, k=k, candidates=cands)
               for kind in report.kinds if kind in report.targets_m]
    frames = [r.sites for r in results if len(r.sites)]
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326") if frames else None
    ids = list(config.communities) or bundle.community_ids()
    written: list[str] = []
    with atomic_dir(outdir) as tmp:
        tmp.chmod(0o755)  # a report folder others read (mkdtemp makes it private)
        # GeoPackage
        gpkg = tmp / "gaps.gpkg"
        doors = report.units.copy()
        for kind in report.kinds:
            doors[f"{kind}_gap"] = doors[f"{kind}_gap"].astype(bool)
        pyogrio.write_dataframe(_finite(doors), gpkg, layer="units", driver="GPKG")
        comp = report.communities.merge(bundle.communities[["id", "geometry"]], on="id", how="left")
        pyogrio.write_dataframe(gpd.GeoDataFrame(comp, geometry="geometry", crs="EPSG:4326"), gpkg, layer="compounds",
                                driver="GPKG", geometry_type="Unknown")
        if sites is not None and len(sites):
            pyogrio.write_dataframe(sites, gpkg, layer="sites", driver="GPKG")
        fix_timestamps(gpkg, data_date=config.data_date)
        written.append("gaps.gpkg")
        # CSV + JSON
        csv_frame(units_table(report)).to_csv(tmp / "units.csv", index=False, encoding="utf-8-sig")
        csv_frame(report.communities).to_csv(tmp / "summary.csv", index=False, encoding="utf-8-sig")
        summary = {
            "district": report.district,
            "targets_m": report.targets_m,
            "siting": [{"kind": r.kind, "radius_m": r.radius_m, "gap_doors": r.gap_doors, "coverable": r.coverable,
                        "k": k, "mclp_covered": r.mclp_covered, "lscp_sites": r.lscp_sites} for r in results],
            "communities": json.loads(report.communities.to_json(orient="records", force_ascii=False)),
        }
        (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        site_rows = pd.DataFrame(sites.drop(columns="geometry")) if sites is not None else pd.DataFrame()
        if sites is not None and len(sites):
            site_rows["lon"] = sites.geometry.x.round(7)
            site_rows["lat"] = sites.geometry.y.round(7)
        csv_frame(site_rows).to_csv(tmp / "sites.csv", index=False, encoding="utf-8-sig")
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
        if pdf:
            (tmp / "pdf").mkdir()
            stamp = fixed_timestamp(config.data_date)  # never the time of the build
            layers = GapMapLayers(report, bundle)  # the district projected and indexed once for every compound
            for cid in ids:
                draft = needs_draft(getattr(config, "draft", "auto"), bundle.gates, cid)
                fig = gap_figure(report, bundle, cid, sites=sites, language=config.language, draft=draft, layers=layers)
                fig.savefig(tmp / "pdf" / f"{cid}.pdf", format="pdf",
                            metadata={"Title": f"ridermap gaps {cid}", "CreationDate": stamp, "ModDate": None})
                written.append(f"pdf/{cid}.pdf")
    log.info("gaps: wrote %d files to %s", len(written), outdir)
    return [outdir / w for w in written]


def _finite(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Infinite distances become nulls (GeoPackage has no infinity)."""
    out = gdf.copy()
    for col in out.columns:
        if col.endswith("_m") and out[col].dtype.kind == "f":
            out[col] = out[col].where(np.isfinite(out[col]))
    return out
