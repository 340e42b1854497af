"""Write the rider website (pages rendered by :mod:`ridermap.render.site`).

``ridermap site`` calls :func:`write_site`; ``ridermap build`` calls
:func:`write_community_site` once per compound (in worker processes),
then :func:`copy_site_assets` and :func:`write_site_index` once. Every file
is written atomically; :func:`write_site` replaces the whole folder at once.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ridermap.analysis.context import Analysis
from ridermap.config import Config
from ridermap.model.bundle import Bundle
from ridermap.publish.atomic import atomic_dir, atomic_path, write_text

log = logging.getLogger(__name__)

__all__ = ["write_site", "write_community_site", "write_site_index", "copy_site_assets"]


def _write_all(files: dict, site_dir: Path) -> list[Path]:
    written = []
    for rel, content in files.items():
        target = site_dir / rel
        if isinstance(content, Path):
            with atomic_path(target) as tmp:
                shutil.copyfile(content, tmp)
        else:
            write_text(target, content)
        written.append(target)
    return written


def copy_site_assets(site_dir: str | Path) -> list[Path]:
    """Copy Leaflet (from the installed ``js_lib_leaflet``) and the site's own JS/CSS into ``site_dir/assets/``."""
    from ridermap.render.site import site_assets

    return _write_all(site_assets(), Path(site_dir))


def write_community_site(
    bundle: Bundle,
    site_dir: str | Path,
    *,
    config: Config,
    basemap: str | None = None,
    tianditu_key: str = "",
    analysis: Analysis | None = None,
) -> list[Path]:
    """Write one compound's pages: ``c/<id>.html``, ``u/<unit>.html`` for each unit, ``d/<id>.js``.

    Parameters
    ----------
    bundle
        One compound (:meth:`Bundle.community`); a bundle of several is
        split into its compounds.
    site_dir
        The site folder (shared by every compound).
    config
        Language, data date.
    basemap, tianditu_key
        Optional basemap (see :func:`write_site`); the index and every
        compound of one site must use the same.
    analysis
        The build's :class:`~ridermap.analysis.context.Analysis` (the
        district's, or the compound's sub-network view from
        :meth:`~ridermap.analysis.context.Analysis.for_compound`); made from
        ``bundle`` when not given.

    Returns
    -------
    list of Path
        Files written.
    """
    from ridermap.render.site import render_community

    site_dir = Path(site_dir)
    ids = bundle.community_ids()
    analysis = analysis if analysis is not None else Analysis(bundle)
    written: list[Path] = []
    for cid in ids:
        one = bundle if len(ids) == 1 else bundle.community(cid)
        written += _write_all(
            render_community(one, config=config, analysis=analysis, basemap=basemap, tianditu_key=tianditu_key),
            site_dir,
        )
    return written


def write_site_index(
    bundle: Bundle, site_dir: str | Path, *, config: Config, basemap: str | None = None, tianditu_key: str = ""
) -> list[Path]:
    """Write ``index.html`` (compounds, one search for the whole site, the district care map) and
    ``d/search.js`` (the search index: every compound, building, unit and gate)."""
    from ridermap.render.site import render_index, search_script

    return [
        write_text(
            Path(site_dir) / "index.html",
            render_index(bundle, config=config, basemap=basemap, tianditu_key=tianditu_key),
        ),
        write_text(Path(site_dir) / "d" / "search.js", search_script(bundle)),
    ]


def write_site(
    bundle: Bundle, outdir: str | Path, *, config: Config, basemap: str | None = None, tianditu_key: str = ""
) -> list[Path]:
    """Write the whole rider website for every compound of ``bundle``.

    Parameters
    ----------
    bundle
        All compounds (a district).
    outdir
        The site folder; replaced as a whole when the site is complete
        (an interrupted run leaves the old site in place).
    config
        Language (``zh`` default, ``en``), data date; ``config.communities``
        limits the compounds.
    basemap
        ``None`` (default: no tiles, nothing loaded from the network),
        ``"osm"``, ``"amap"`` / ``"tencent"`` (GCJ-02; overlays are shifted
        to match) or ``"tianditu"`` (needs ``tianditu_key``).
    tianditu_key
        The user's Tianditu key.

    Returns
    -------
    list of Path
        Every file of the site (under ``outdir``).
    """
    outdir = Path(outdir)
    ids = list(config.communities) or bundle.community_ids()
    analysis = Analysis(bundle)  # one network for the district, every compound's routes cut out of it
    with atomic_dir(outdir) as tmp:
        files: list[Path] = []
        files += copy_site_assets(tmp)
        for cid in ids:
            files += write_community_site(
                bundle.community(cid), tmp, config=config, basemap=basemap, tianditu_key=tianditu_key, analysis=analysis
            )
        files += write_site_index(bundle, tmp, config=config, basemap=basemap, tianditu_key=tianditu_key)
        tmp.chmod(0o755)  # a temporary folder is private; a website is not
    log.info("site: %d files in %s", len(files), outdir)
    return [outdir / f.relative_to(tmp) for f in files]
