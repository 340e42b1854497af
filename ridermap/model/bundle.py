"""The :class:`Bundle`: the six layers of one or many compounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from ridermap.model.findings import Finding
from ridermap.model.schema import CRS, LAYERS
from ridermap.utm import utm_crs

T = TypeVar("T")

_BOOL_COLUMNS = {"locked", "rideable"}
_INT_COLUMNS = {"levels"}
#: layers whose rows outside every compound (streets, public facilities) are shared
_SHARED_LAYERS = ("facilities", "paths")
_NONE = np.zeros(0, dtype=np.intp)


def empty_layer(layer: str) -> gpd.GeoDataFrame:
    """Return an empty GeoDataFrame with the columns of ``layer``."""
    return conform_layer(layer, gpd.GeoDataFrame({c: [] for c in LAYERS[layer]}, geometry=[], crs=CRS))


def conform_layer(layer: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` with exactly the columns and dtypes of ``layer``.

    Missing text columns become ``""``, missing flags ``False``, missing
    ``levels`` ``<NA>``. Extra columns are dropped. The input is not changed.
    """
    out = {}
    n = len(gdf)
    for col in LAYERS[layer]:
        values = gdf[col] if col in gdf.columns else pd.Series([None] * n, index=gdf.index)
        if col in _BOOL_COLUMNS:
            values = values.fillna(False).astype(bool)
        elif col in _INT_COLUMNS:
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        else:
            values = values.where(values.notna(), "").astype(str)
        out[col] = values.array  # positional: any index of the input lines up with the geometry
    geometry = (
        gdf.geometry
        if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf
        else gpd.GeoSeries([None] * n, index=gdf.index)
    )
    result = gpd.GeoDataFrame(out, geometry=geometry.values, crs=gdf.crs or CRS, index=range(n))
    if result.crs is not None and result.crs != CRS:
        result = result.to_crs(CRS)
    return result


@dataclass(frozen=True)
class Bundle:
    """Six layers (GeoDataFrames in WGS84) for one or many compounds.

    Streets and facilities outside every compound have ``community_id == ""``
    and belong to every single-compound view that reaches them (see
    :meth:`community`). ``findings`` are what the readers and inference noticed
    (rows they could not use, ways cut at the extract edge, guesses made);
    :func:`ridermap.analysis.validate.validate` reports them with its own.
    """

    communities: gpd.GeoDataFrame
    gates: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    paths: gpd.GeoDataFrame
    findings: tuple[Finding, ...] = ()

    @classmethod
    def empty(cls) -> Bundle:
        return cls(**{name: empty_layer(name) for name in LAYERS})

    @staticmethod
    def shared_empty() -> Bundle:
        """One empty bundle per process, for views that leave layers out (never change its layers)."""
        return _shared_empty()

    @classmethod
    def from_layers(cls, layers: dict[str, gpd.GeoDataFrame]) -> Bundle:
        """Build a bundle from a dict of layers; missing layers are empty."""
        return cls(
            **{name: conform_layer(name, layers[name]) if name in layers else empty_layer(name) for name in LAYERS}
        )

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return ``{layer name: GeoDataFrame}`` in schema order."""
        return {name: getattr(self, name) for name in LAYERS}

    def community_ids(self) -> list[str]:
        return list(self.communities["id"])

    def community(self, community_id: str, *, margin_m: float = 300.0) -> Bundle:
        """Return the view of one compound.

        Rows with that ``community_id``, plus paths and facilities outside
        every compound (``community_id == ""``: streets, public toilets...)
        within ``margin_m`` of the compound.
        """
        if self.__dict__.get("_view_of") == (community_id, margin_m):
            return self  # a compound's view of itself is itself (posters, plates and pages each ask again)
        return self.view_of(community_id, self.community_positions(community_id, margin_m=margin_m), margin_m=margin_m)

    def community_positions(self, community_id: str, *, margin_m: float = 300.0) -> dict[str, np.ndarray]:
        """The row positions, layer by layer, of :meth:`community`'s view (without making it).

        What an incremental build hashes to tell whether a compound changed:
        picking rows by position is cheap, copying them into a view is not.
        """
        from ridermap.errors import ConfigError

        index = self._index()
        row = index["communities"].get(community_id)
        if row is None:
            known = ", ".join(self.community_ids()[:10])
            raise ConfigError(f"no community with id {community_id!r} (known: {known})")
        comm = self.communities.iloc[row]
        area = comm.to_crs(utm_crs(comm)).buffer(margin_m).to_crs(CRS).union_all()
        hits: dict[str, np.ndarray] = {}
        for name in _SHARED_LAYERS:
            shared, streets = index["shared:" + name]
            if len(shared) and area is not None and not area.is_empty:
                hits[name] = shared[streets.sindex.query(area, predicate="intersects")]
        return self._positions_with(community_id, row, hits)

    def all_community_positions(self, ids: list[str], *, margin_m: float = 300.0) -> dict[str, dict[str, np.ndarray]]:
        """:meth:`community_positions` of many compounds at once: one projection per UTM zone, one spatial query
        per shared layer (what a district build's keys need for every compound).

        Compounds this cannot do in bulk (an unknown or repeated id, a geometry
        with no plain UTM zone) are left out: ask :meth:`community_positions`.
        """
        import shapely

        from ridermap.utm import utm_crs_of_bounds

        rows = self._index()["communities"]
        single = [c for c in dict.fromkeys(ids) if len(rows.get(c, ())) == 1]
        pos = np.array([rows[c][0] for c in single], dtype=np.intp)
        geoms = self.communities.geometry.to_numpy()[pos]
        bounds = shapely.bounds(geoms)
        zones: dict = {}
        for k, b in enumerate(bounds):
            crs = None if shapely.is_missing(geoms[k]) else utm_crs_of_bounds(*b)
            if crs is not None:
                zones.setdefault(crs, []).append(k)
        areas = np.full(len(single), None, dtype=object)
        for crs, ks in zones.items():
            metric = gpd.GeoSeries(geoms[ks], crs=self.communities.crs).to_crs(crs).buffer(margin_m).to_crs(CRS)
            areas[ks] = [shapely.union_all([g]) for g in metric.to_numpy()]  # as GeoSeries.union_all of one row
        done = [k for k in range(len(single)) if areas[k] is not None]
        hits = {name: self._shared_hits(name, areas[done]) for name in _SHARED_LAYERS}
        out: dict[str, dict[str, np.ndarray]] = {}
        for j, k in enumerate(done):
            out[single[k]] = self._positions_with(
                single[k], rows[single[k]], {n: h.get(j, _NONE) for n, h in hits.items()}
            )
        return out

    def _shared_hits(self, name: str, areas: np.ndarray) -> dict[int, np.ndarray]:
        """Positions of the shared rows of layer ``name`` each of ``areas`` meets, by area number."""
        shared, streets = self._index()["shared:" + name]
        live = [i for i, a in enumerate(areas) if not a.is_empty]
        if not len(shared) or not live:
            return {}
        which, hit = streets.sindex.query(areas[live], predicate="intersects")
        order = np.argsort(which, kind="stable")
        which, hit = which[order], hit[order]
        cuts = np.flatnonzero(np.diff(which)) + 1
        return {live[int(w[0])]: shared[h] for w, h in zip(np.split(which, cuts), np.split(hit, cuts)) if len(w)}

    def _positions_with(self, community_id: str, row, shared_hits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A compound's positions: its own rows of every layer and the shared rows ``shared_hits`` found."""
        index = self._index()
        out = {"communities": np.asarray(row, dtype=np.intp)}
        for name in LAYERS:
            if name == "communities":
                continue
            keep = index[name].get(community_id, _NONE)
            if name in _SHARED_LAYERS and len(shared_hits.get(name, _NONE)):
                keep = np.union1d(keep, shared_hits[name])
            out[name] = keep
        return out

    def view_of(
        self, community_id: str, positions: dict[str, np.ndarray], *, margin_m: float = 300.0, only=None
    ) -> Bundle:
        """The view made of ``positions`` (:meth:`community_positions`); ``only`` these layers (the rest empty)."""
        empty = _shared_empty() if only is not None else None
        layers = {
            name: _rows(getattr(self, name), positions[name]) if only is None or name in only else getattr(empty, name)
            for name in LAYERS
        }
        view = replace(self, **layers)
        if only is None:
            object.__setattr__(view, "_view_of", (community_id, margin_m))  # kept when pickled: see __getstate__
        return view

    def _index(self) -> dict:
        """Row positions by ``community_id`` for every layer, built once per bundle.

        ``{layer: {community id: positions}}``, plus ``"shared:<layer>"``: the
        positions of rows outside every compound in the shared layers and
        those rows (with their spatial index).
        """
        cached = self.__dict__.get("_community_index")
        if cached is None:
            cached = {
                name: {
                    k: np.asarray(v, dtype=np.intp)
                    for k, v in getattr(self, name)
                    .groupby("community_id" if name != "communities" else "id", sort=False)
                    .indices.items()
                }
                for name in LAYERS
            }
            for name in _SHARED_LAYERS:
                layer = getattr(self, name)
                shared = np.flatnonzero(layer["community_id"].to_numpy() == "")
                cached["shared:" + name] = (shared, layer.iloc[shared])
            object.__setattr__(self, "_community_index", cached)  # a cache: the bundle itself is never changed
        return cached

    def memo(self, name: str, make: Callable[[], T]) -> T:
        """``make()``, made once per bundle and kept under ``_memo:<name>`` (never pickled).

        For values derived only from the (frozen) bundle that several outputs
        of one compound ask for: its layers in UTM, its site lookups.
        """
        key = "_memo:" + name
        held = self.__dict__.get(key)
        if held is None:
            held = make()
            object.__setattr__(self, key, held)  # a cache: the bundle itself is never changed
        return held

    def __getstate__(self) -> dict:
        """Pickle the layers and findings, not the caches (``_``-names: indexes rebuilt on demand).

        ``_view_of`` (which compound this view is of) is kept: a worker asking
        its task's view for the same compound gets the view itself.
        """
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_") or k == "_view_of"}

    def replace(self, **layers: gpd.GeoDataFrame) -> Bundle:
        """Return a copy with some layers replaced (conformed to the schema)."""
        return replace(self, **{k: conform_layer(k, v) for k, v in layers.items()})

    def with_findings(self, findings) -> Bundle:
        """Return a copy with ``findings`` added after the ones it has."""
        return replace(self, findings=self.findings + tuple(findings))


def _rows(layer: gpd.GeoDataFrame, positions: np.ndarray) -> gpd.GeoDataFrame:
    """``layer.iloc[positions].reset_index(drop=True)`` with one copy, not two."""
    out = layer.iloc[positions]  # a new frame (positions is an array): its index may be set in place
    out.index = pd.RangeIndex(len(out))
    return out


def concat_bundles(bundles: list[Bundle]) -> Bundle:
    """Stack bundles layer by layer (no de-duplication)."""
    if not bundles:
        return Bundle.empty()
    out = {}
    for name in LAYERS:
        frames = [getattr(b, name) for b in bundles]
        out[name] = conform_layer(name, gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=CRS))
    return Bundle(**out, findings=tuple(f for b in bundles for f in b.findings))


@lru_cache(maxsize=1)
def _shared_empty() -> Bundle:
    return Bundle.empty()
