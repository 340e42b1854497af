"""Keys for incremental builds: what a compound's outputs were made from.

A compound's per-compound outputs (posters, doorplates, site pages) depend
only on its view (:meth:`ridermap.model.bundle.Bundle.community`: its rows of
every layer plus the shared streets and facilities near it), the findings
about those features, the config and ridermap itself. :func:`view_digest`
hashes the view, :class:`KeyMaker` mixes in the rest, one key per output
part. ``build.json`` records the keys; the next build reuses (hard-links) a
part whose key is unchanged instead of building it again.

Every digest is SHA-256 over a canonical byte string: layers by name,
columns by name, rows sorted, geometry as WKB. Nothing depends on Python's
``hash()``, on row order or on the process, so two processes (or two
machines with the same versions) give the same key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely

from ridermap.config import Config
from ridermap.model.bundle import Bundle

log = logging.getLogger(__name__)

#: Config fields that never change a compound's own outputs (inputs, what and where to build,
#: district-wide gap targets). Every other field, including ones added later, is part of the key.
NOT_PER_COMPOUND = frozenset(
    {
        "sources",
        "communities",
        "outputs",
        "workers",
        "executor",
        "dask_address",
        "targets_m",
        "cache_dir",
        "config_path",
    }
)
#: Config fields that change no output at all (how and where the build runs; the sources' contents are the
#: model itself). Every other field is part of the district key (:func:`district_key`).
NOT_OUTPUT = frozenset({"sources", "workers", "executor", "dask_address", "cache_dir", "config_path"})
#: Config fields only one part uses (other parts ignore them in their key).
PART_ONLY = {"paper": "posters", "plate_size": "doorplates"}
#: Bumped when the meaning of a key changes.
KEY_FORMAT = "ridermap-incremental-1"
_SEP = b"\x1f"
_ROW = b"\x1e"


def _text(value) -> bytes:
    if value is None:
        return b"\x00"
    if isinstance(value, float) and value != value:  # NaN, whatever its bit pattern
        return b"nan"
    return str(value).encode("utf-8", "surrogatepass")


def _update(h, name: str, rows: list[bytes]) -> None:
    """Feed one named table's rows (from :func:`_layer_rows`) to the hash ``h``."""
    h.update(b"\x02" + name.encode("utf-8") + b"\x03" + str(len(rows)).encode("ascii") + b"\x03")
    h.update(_ROW.join(rows))


def _layer_rows(layer, *, ordered: bool = False) -> list[bytes]:
    """Every row as bytes: columns by name, ``id`` first, geometry as WKB; rows sorted (kept in order if
    ``ordered``)."""
    columns = sorted((c for c in layer.columns if c != "geometry"), key=lambda c: (c != "id", str(c)))
    values = [layer[c].tolist() for c in columns]
    if "geometry" in layer:
        wkb = shapely.to_wkb(layer.geometry.values, output_dimension=3, include_srid=False, byte_order=1)
        values.append([w if w is not None else b"\x00" for w in wkb.tolist()])
    rows = [_SEP.join(v if isinstance(v, bytes) else _text(v) for v in row) for row in zip(*values)]
    if not ordered:
        rows.sort()
    head = _SEP.join(_text(c) for c in columns) + (_SEP + b"geometry" if "geometry" in layer else b"")
    return [head, *rows]


class FindingIndex:
    """The findings of a district by (layer, feature id), serialised once per build."""

    def __init__(self, findings: Iterable) -> None:
        self._by_feature: dict[tuple[str, str], list[bytes]] = {}
        for f in findings:
            item = json.dumps(dataclasses.asdict(f), ensure_ascii=False, sort_keys=True).encode("utf-8")
            self._by_feature.setdefault((str(f.layer), str(f.id)), []).append(item)

    def about(self, view: Bundle) -> list[bytes]:
        """The findings about the features of ``view``, sorted."""
        return self.about_ids({name: layer["id"].astype(str).tolist() for name, layer in view.layers().items()})

    def about_ids(self, ids: dict[str, list[str]]) -> list[bytes]:
        """The findings about these feature ids (by layer), sorted."""
        if not self._by_feature:
            return []
        out: list[bytes] = []
        for name, feature_ids in ids.items():
            for feature_id in feature_ids:
                out += self._by_feature.get((name, feature_id), ())
        return sorted(out)


class RowBytes:
    """A table's rows as :func:`_layer_rows` makes them, once; the rows of any subset are then picked.

    ``pick(positions)`` equals ``_layer_rows(table.iloc[positions])``: what a
    digest of a compound's part of a district layer hashes, without copying
    that part out of the layer first.
    """

    def __init__(self, table) -> None:
        rows = _layer_rows(table, ordered=True)
        self.head, self.rows = rows[0], rows[1:]

    def pick(self, positions) -> list[bytes]:
        rows = self.rows
        return [self.head, *sorted(rows[i] for i in np.asarray(positions, dtype=np.intp).tolist())]


class DistrictDigests:
    """:func:`view_digest` of every compound of a district from row positions (:meth:`Bundle.community_positions`).

    Each layer's rows are serialised once per build instead of once per
    compound view, and no view is made for a compound that turns out
    unchanged. ``view_digest(bundle.community(c))`` and
    ``DistrictDigests(bundle).view(bundle.community_positions(c))`` are equal.
    """

    def __init__(self, bundle: Bundle, findings: FindingIndex | None = None) -> None:
        self.bundle = bundle
        self.findings = findings if findings is not None else FindingIndex(bundle.findings)
        self._rows: dict[str, RowBytes] = {}
        self._ids: dict[str, list[str]] = {}

    def rows(self, name: str) -> RowBytes:
        held = self._rows.get(name)
        if held is None:
            held = self._rows[name] = RowBytes(getattr(self.bundle, name))
        return held

    def view(self, positions: dict[str, np.ndarray]) -> str:
        """The :func:`view_digest` of the view made of ``positions``."""
        h = hashlib.sha256(KEY_FORMAT.encode("ascii"))
        for name in sorted(positions):
            rows = self.rows(name).pick(positions[name])
            _update(h, name, rows)
        ids = {}
        for name, pos in positions.items():
            all_ids = self._ids.get(name)
            if all_ids is None:
                all_ids = self._ids[name] = getattr(self.bundle, name)["id"].astype(str).tolist()
            ids[name] = [all_ids[i] for i in np.asarray(pos, dtype=np.intp).tolist()]
        h.update(b"\x02findings\x03" + _ROW.join(self.findings.about_ids(ids)))
        return h.hexdigest()


def view_digest(view: Bundle, findings: FindingIndex | None = None) -> str:
    """SHA-256 of a compound's view: every layer's rows (geometry as WKB) and the findings about them.

    Parameters
    ----------
    view
        ``bundle.community(cid)``.
    findings
        The district's findings indexed once (:class:`FindingIndex`); by
        default the view's own ``findings`` are indexed here.

    Returns
    -------
    str
        64 hex digits; the same for the same data in any process.
    """
    h = hashlib.sha256(KEY_FORMAT.encode("ascii"))
    for name, layer in sorted(view.layers().items()):
        rows = _layer_rows(layer)
        _update(h, name, rows)
    index = findings if findings is not None else FindingIndex(view.findings)
    h.update(b"\x02findings\x03" + _ROW.join(index.about(view)))
    return h.hexdigest()


def model_digest(bundle: Bundle) -> str:
    """SHA-256 of the whole model: every layer's rows in their order (geometry as WKB) and every finding in order.

    Unlike :func:`view_digest` the order counts: district-wide outputs
    (the GeoPackage, validation, gap tables) list rows and findings in it.
    """
    h = hashlib.sha256(f"{KEY_FORMAT}\nmodel\n".encode())
    for name, layer in sorted(bundle.layers().items()):
        rows = _layer_rows(layer, ordered=True)
        _update(h, name, rows)
    findings = [
        json.dumps(dataclasses.asdict(f), ensure_ascii=False, sort_keys=True).encode("utf-8") for f in bundle.findings
    ]
    h.update(b"\x02findings\x03" + str(len(findings)).encode("ascii") + b"\x03" + _ROW.join(findings))
    return h.hexdigest()


def district_key(bundle: Bundle, config: Config, *, ids: Iterable[str], landscape: bool = False) -> str:
    """The key of a whole build: the model, every config field that shapes an output, the compounds, ridermap.

    Two builds with the same district key make the same files, so a rebuild
    whose key is the previous build's keeps that build current (see
    :func:`ridermap.publish.build.build`).

    Parameters
    ----------
    bundle
        The district.
    config
        The build's config; fields in :data:`NOT_OUTPUT` are left out.
    ids
        The compounds built, in order.
    landscape
        ``build --landscape``.
    """
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in NOT_OUTPUT}
    salt = {
        "format": KEY_FORMAT,
        "code": code_fingerprint(),
        "config": fields,
        "ids": list(ids),
        "landscape": bool(landscape),
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", ""),
    }
    text = json.dumps(salt, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{text}\n{model_digest(bundle)}".encode()).hexdigest()


def previous_build(previous: Path | None) -> dict | None:
    """The previous build's ``build.json`` (None if none or unreadable)."""
    if previous is None:
        return None
    try:
        data = json.loads((previous / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def gap_digest(part) -> str:
    """SHA-256 of one compound's gap map inputs (a :class:`~ridermap.render.gapmap.GapSlice`).

    The map shows the compound's doors with the district's distances and
    the streets, buildings, facilities and proposed sites around it, so its
    key is these rows, not the compound's view: a change next door that
    moves a gap changes it, a change elsewhere in the district does not.
    """
    report = part.report
    h = _gap_hash(part.community_id, part.margin_m, report)
    tables = {
        **{f"bundle.{k}": v for k, v in part.bundle.layers().items()},
        "report.units": report.units,
        "report.communities": report.communities,
    }
    if part.sites is not None:
        tables["sites"] = part.sites
    for name, table in sorted(tables.items()):
        rows = _layer_rows(table)
        _update(h, name, rows)
    return h.hexdigest()


def _gap_hash(community_id: str, margin_m: float, report):
    """A gap digest's hash, started with what is not a table: the compound, the margin, the kinds and targets."""
    h = hashlib.sha256(f"{KEY_FORMAT}\ngaps\n{community_id}\n{margin_m!r}\n".encode())
    h.update(json.dumps({"kinds": list(report.kinds), "targets_m": dict(report.targets_m)}, sort_keys=True).encode())
    return h


class GapDigests:
    """:func:`gap_digest` of each compound's gap map from row positions (:meth:`GapMapLayers.positions`).

    ``GapDigests(layers, sites).digest(layers.positions(c, sites=sites))`` equals
    ``gap_digest(layers.subset(c, sites=sites))``; the district tables'
    rows are serialised once and no slice is made for an unchanged compound.
    """

    def __init__(self, layers, sites) -> None:
        self.layers, self.sites = layers, sites
        self._rows: dict[str, RowBytes] = {}
        self._empty: dict[str, list[bytes]] = {}

    def _table_rows(self, name: str) -> RowBytes:
        held = self._rows.get(name)
        if held is None:
            if name.startswith("bundle."):
                table = getattr(self.layers.bundle, name[len("bundle.") :])
            elif name == "sites":
                table = self.sites
            else:
                table = getattr(self.layers.report, name[len("report.") :])
            held = self._rows[name] = RowBytes(table)
        return held

    def _empty_rows(self, name: str) -> list[bytes]:
        held = self._empty.get(name)
        if held is None:
            table = self.sites if name == "sites" else getattr(Bundle.shared_empty(), name[len("bundle.") :])
            held = self._empty[name] = _layer_rows(table)
        return held

    def digest(self, where) -> str:
        h = _gap_hash(where.community_id, where.margin_m, self.layers.report)
        names = [f"bundle.{k}" for k in Bundle.shared_empty().layers()] + ["report.units", "report.communities"]
        if self.sites is not None:
            names.append("sites")
        for name in sorted(names):
            if name in where.tables:
                rows = self._table_rows(name).pick(where.tables[name])
            else:
                rows = self._empty_rows(name)
            _update(h, name, rows)
        return h.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """ridermap's version, a digest of its code and templates, the dependencies' versions and the font.

    Computed once per process (a few milliseconds): a new ridermap, an edited
    checkout or another font rebuilds every compound.
    """
    from importlib.metadata import PackageNotFoundError, requires, version

    from ridermap.resources import templates_dir

    h = hashlib.sha256()
    try:
        h.update(f"ridermap {version('ridermap')}\n".encode())
        deps = sorted({_req_name(r) for r in (requires("ridermap") or []) if "extra ==" not in r})
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        h.update(b"ridermap unknown\n")
        deps = []
    for dep in deps:
        try:
            h.update(f"{dep} {version(dep)}\n".encode())
        except PackageNotFoundError:
            h.update(f"{dep} -\n".encode())
    package = Path(__file__).resolve().parent.parent
    for root in (package, templates_dir()):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".pyc", ".pyo")):
            h.update(path.relative_to(root).as_posix().encode() + b"\x00" + path.read_bytes() + b"\x00")
    h.update(_font_identity().encode())
    return h.hexdigest()


def _req_name(requirement: str) -> str:
    import re

    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower()


def _font_identity() -> str:
    try:
        from ridermap.render.fonts import cjk_font_path

        path = cjk_font_path()
        return f"font {path} {path.stat().st_size}"
    except Exception:  # noqa: BLE001 - no font: the build reports that itself, per compound
        return "font -"


class KeyMaker:
    """One key per (compound view, output part) for a build's config.

    Parameters
    ----------
    config
        The build's config; fields in :data:`NOT_PER_COMPOUND` are left out.
    landscape
        ``build --landscape`` (posters only).
    """

    def __init__(self, config: Config, *, landscape: bool = False) -> None:
        fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in NOT_PER_COMPOUND}
        common = {k: v for k, v in fields.items() if k not in PART_ONLY}
        common["SOURCE_DATE_EPOCH"] = os.environ.get("SOURCE_DATE_EPOCH", "")
        base = {"code": code_fingerprint(), "config": common}
        self._salts = {}
        for part in ("posters", "doorplates", "site", "gaps", "signs"):
            extra = {k: v for k, v in fields.items() if PART_ONLY.get(k) == part}
            if part == "posters":
                extra["landscape"] = bool(landscape)
            self._salts[part] = json.dumps(
                {**base, "part": part, "part_config": extra}, sort_keys=True, ensure_ascii=False, default=str
            )

    def keys(self, digest: str, parts: Iterable[str]) -> dict[str, str]:
        """The key of each part for a view with :func:`view_digest` ``digest``."""
        return {part: hashlib.sha256(f"{self._salts[part]}\n{digest}".encode()).hexdigest() for part in parts}


def previous_compounds(previous: Path | None) -> dict[str, dict]:
    """The compound records of the previous build's ``build.json`` by compound id (empty if none or unreadable)."""
    data = previous_build(previous)
    compounds = data.get("compounds") if data is not None else None
    if not isinstance(compounds, list):
        if previous is not None:
            log.info("no usable build.json in %s: every compound is built", previous)
        return {}
    return {str(c["community"]): c for c in compounds if isinstance(c, dict) and "community" in c}


def part_files(record: Mapping, part: str) -> list[str]:
    """The files of one part in a compound record (``posters/...``, ``doorplates/...``, ``site/...``)."""
    return [f for f in record.get("files", []) if f.split("/", 1)[0] == part]


def reusable(record: Mapping | None, part: str, key: str, previous: Path | None) -> list[str] | None:
    """The files of ``part`` to reuse from the previous build, or None when the part must be built.

    Only a part of a compound that did not fail, whose key is ``key`` and
    whose every file is still there as a regular file, is reused.
    """
    if record is None or previous is None or record.get("status") == "failed":
        return None
    entry = (record.get("parts") or {}).get(part)
    if not isinstance(entry, dict) or entry.get("status") != "ok" or entry.get("key") != key:
        return None
    files = part_files(record, part)
    if len(files) != entry.get("files"):
        return None
    root = str(previous)
    for rel in files:  # one lstat per file: a district reuses hundreds of thousands
        if rel.startswith("/") or ".." in rel.split("/"):
            return None
        try:
            mode = os.lstat(f"{root}/{rel}").st_mode
        except OSError:
            return None
        if not stat.S_ISREG(mode):  # a symlink or a folder is never taken for a file
            return None
    return files
