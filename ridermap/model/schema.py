"""The community model: layer names, columns and allowed values.

One *bundle* holds six layers, each a GeoDataFrame in WGS84 (EPSG:4326). A
GeoPackage on disk uses the same layer names; one file may hold many
compounds, told apart by ``community_id``.
"""

from __future__ import annotations

from ridermap.i18n import labels

CRS = "EPSG:4326"

#: layer name -> ordered non-geometry columns (``geometry`` is always last).
LAYERS: dict[str, tuple[str, ...]] = {
    "communities": ("id", "name", "name_en", "rider_access", "rider_hours", "admin_code", "inferred", "source"),
    "gates": (
        "id",
        "community_id",
        "name",
        "name_en",
        "rider_access",
        "hours",
        "locked",
        "survey_key",
        "inferred",
        "source",
    ),
    "buildings": ("id", "community_id", "number", "label", "levels", "survey_key", "inferred", "source"),
    "units": ("id", "community_id", "building_id", "number", "label", "flats", "survey_key", "inferred", "source"),
    "facilities": ("id", "kind", "name", "name_en", "community_id", "source"),
    "paths": ("id", "community_id", "kind", "access", "rideable", "name", "source"),
}

#: columns a GeoPackage of an older ridermap may lack: read as empty (``name_en`` came with English names)
OPTIONAL_COLUMNS = frozenset({"name_en"})

#: ``inferred``: comma-separated names of the attributes ridermap inferred rather
#: than read from data (``name``, ``rider_access``, ``location``); ``""`` = all from
#: data. Inferred items are drawn distinctly and shown as 待核实 (to be confirmed).
#: ``name_en``: the name in English or a transliteration, when the data give one (OSM ``name:en`` or
#: ``name:zh-Latn-pinyin``; a survey's 英文名 column); English outputs show it in place of ``name``.
#: ``survey_key``: the short key of a feature in survey packs (``B07``, ``G3``,
#: ``U07-2``), stable across runs for the same OSM data.
INFERRED_SEP = ","

#: layer name -> geometry type every row must have.
GEOMETRY: dict[str, str] = {
    "communities": "Polygon",  # Polygon or MultiPolygon
    "gates": "Point",
    "buildings": "Polygon",  # Polygon or MultiPolygon
    "units": "Point",
    "facilities": "Point",
    "paths": "LineString",
}

#: rider access of a compound or gate: ride in, park outside and walk in, no entry,
#: or not known from data (``unknown``: shown as 待核实, never as a rule).
RIDER_ACCESS = ("ride", "walk", "none", "unknown")

#: facility kinds the tool knows; the first seven are required by planners.
FACILITY_KINDS = (
    "charger",
    "battery_swap",
    "rider_parking",
    "parcel_locker",
    "toilet",
    "rider_station",
    "drinking_water",
    "transfer_bicycle",
)

#: display names of facility kinds, Chinese and English (from :mod:`ridermap.i18n`).
FACILITY_LABELS: dict[str, dict[str, str]] = labels("facility")

#: labels of rider rules, Chinese and English (from :mod:`ridermap.i18n`).
RIDER_ACCESS_LABELS: dict[str, dict[str, str]] = labels("access")

#: path kinds (from OSM ``highway``) and whether e-bikes may ride them by default.
PATH_KINDS_RIDEABLE: dict[str, bool] = {
    "residential": True,
    "service": True,
    "living_street": True,
    "unclassified": True,
    "tertiary": True,
    "secondary": True,
    "primary": True,
    "trunk": False,
    "motorway": False,
    "cycleway": True,
    "track": True,
    "road": True,
    "footway": False,
    "path": False,
    "pedestrian": False,
    "steps": False,
    "corridor": False,
}
