"""The TOML config (``ridermap.toml``), loaded into a frozen dataclass.

Example (paths are relative to the config file)::

    [project]
    name = "锦江区示范"
    admin_code = "510104"          # GB/T 2260 code of the district
    base_url = "https://rider.example.cn/"
    language = "zh"                # or "en"
    data_date = "2026-11"

    [[sources]]
    path = "base.osm"

    [[sources]]
    path = "survey.xlsx"
    crs = "gcj02"                  # wgs84, cgcs2000, gcj02, bd09, EPSG:n

    [build]
    outputs = ["gpkg", "validation", "posters", "doorplates", "site", "gaps", "signs"]
    paper = "A2"
    workers = 2                    # local processes; executor = "dask" for a cluster
    draft = "auto"                 # "草图 / DRAFT" band on posters, plates, gap PDFs:
                                   # auto = when a compound has no confirmed gate; true; false

    [routing]                      # rider routes on the site (defaults shown; see RouteCosts)
    ride_speed_mps = 4.2
    walk_speed_mps = 1.2
    park_s = 30
    gate_park_s = 90
    gate_parking_m = 40
    alternative_pct = 20
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ridermap.crs import normalise_crs
from ridermap.errors import ConfigError

DEFAULT_TARGETS_M = {
    "rider_parking": 100.0,
    "charger": 300.0,
    "battery_swap": 300.0,
    "parcel_locker": 200.0,
    "rider_station": 1000.0,
    "toilet": 500.0,
}
OUTPUTS = ("gpkg", "validation", "posters", "doorplates", "site", "gaps", "signs")


@dataclass(frozen=True)
class Source:
    """One input: a path (or ``overpass:`` query) and the CRS it is in."""

    path: str
    crs: str | None = None  # None: the file's own CRS, else WGS84


@dataclass(frozen=True)
class RouteCosts:
    """What rider routes cost (``[routing]``): speeds turn metres into time, parking adds fixed times.

    The route with the least time wins; the site shows minutes from the
    speeds and explains the choice with these costs.

    Attributes
    ----------
    ride_speed_mps
        Riding speed, m/s. Default 4.2 m/s (about 15 km/h): an e-bike kept
        well below the 25 km/h design limit of GB 17761-2018 on compound
        roads shared with walkers (a default, not a measurement).
    walk_speed_mps
        Walking speed, m/s. Default 1.2 m/s (4 ft/s), the "normal walking
        speed" of the US MUTCD used for signal timing (Montufar et al.,
        "Pedestrians' normal walking speed and speed when crossing a street",
        Transportation Research Record 2002, 2007, doi:10.3141/2002-12).
    park_s
        Time to park at a rider parking outside the compound and set off on
        foot, seconds (default 30, a default).
    gate_park_s
        Time counted for parking at a gate without a rider parking, seconds
        (default 90: higher than ``park_s`` so that riders are sent to
        proper parkings where there are some).
    gate_parking_m
        A rider parking this close to a gate (either side of the fence) is
        where riders park at that gate, metres (default 40).
    alternative_pct
        A route through another gate whose cost is within this percentage of
        the best is shown beside it (default 20).
    """

    ride_speed_mps: float = 4.2
    walk_speed_mps: float = 1.2
    park_s: float = 30.0
    gate_park_s: float = 90.0
    gate_parking_m: float = 40.0
    alternative_pct: float = 20.0

    def options(self) -> dict[str, float]:
        """The costs as keyword arguments of :func:`ridermap.analysis.routing.plan_routes`."""
        return {
            "ride_speed_mps": self.ride_speed_mps,
            "walk_speed_mps": self.walk_speed_mps,
            "park_s": self.park_s,
            "gate_park_s": self.gate_park_s,
            "gate_parking_m": self.gate_parking_m,
            "alternative_pct": self.alternative_pct,
        }


@dataclass(frozen=True)
class Config:
    name: str = "ridermap"
    admin_code: str = "000000"
    base_url: str = "https://rider.example.cn/"
    language: str = "zh"
    data_date: str = ""
    #: where riders report a problem: a URL template with ``{unit_id}`` and/or ``{community_id}``
    #: (``https://…?unit={unit_id}``); empty: no report link on pages and plates
    feedback_url: str = ""
    #: draw the junction sign posts of the signage plan on the gate posters (``[build] poster_signs``)
    poster_signs: bool = False
    sources: tuple[Source, ...] = ()
    communities: tuple[str, ...] = ()  # empty: every compound found
    outputs: tuple[str, ...] = OUTPUTS
    paper: str = "A2"
    plate_size: str = "small"
    draft: str | bool = "auto"  # "auto", True or False (see ridermap.model.confirmed.needs_draft)
    workers: int = 2
    executor: str = "local"
    dask_address: str = ""
    targets_m: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS_M))
    #: speeds and costs of rider routes (``[routing]``)
    routing: RouteCosts = field(default_factory=RouteCosts)
    cache_dir: str = ""
    config_path: str = ""


def _get(table: dict, key: str, kind: type, default, where: str):
    value = table.get(key, default)
    if value is not default and not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} must be {kind.__name__}, got {value!r}")
    return value


def load_config(path: str | Path | None) -> Config:
    """Read a ``ridermap.toml``; ``None`` gives the defaults (no sources)."""
    if path is None:
        return Config()
    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}: config file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc
    project = data.get("project", {})
    build = data.get("build", {})
    gaps = data.get("gaps", {})
    base = path.parent
    sources = []
    for i, item in enumerate(data.get("sources", []), start=1):
        if not isinstance(item, dict) or "path" not in item:
            raise ConfigError(f"{where}: [[sources]] #{i} needs a path")
        raw = str(item["path"])
        resolved = raw if raw.startswith("overpass:") else str((base / raw).resolve())
        crs = normalise_crs(item["crs"]) if item.get("crs") else None
        sources.append(Source(resolved, crs))
    language = _get(project, "language", str, "zh", where)
    if language not in ("zh", "en"):
        raise ConfigError(f"{where}: language must be 'zh' or 'en', got {language!r}")
    outputs = tuple(_get(build, "outputs", list, list(OUTPUTS), where))
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise ConfigError(f"{where}: unknown outputs {sorted(unknown)} (known: {', '.join(OUTPUTS)})")
    targets = dict(DEFAULT_TARGETS_M)
    for kind, value in gaps.get("targets_m", {}).items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{where}: gaps.targets_m.{kind} must be a positive number, got {value!r}")
        targets[kind] = float(value)
    executor = _get(build, "executor", str, "local", where)
    if executor not in ("local", "dask"):
        raise ConfigError(f"{where}: build.executor must be 'local' or 'dask', got {executor!r}")
    draft = build.get("draft", "auto")
    if not (draft is True or draft is False or draft == "auto"):
        raise ConfigError(f'{where}: build.draft must be "auto", true or false, got {draft!r}')
    base_url = _get(project, "base_url", str, Config.base_url, where)
    if not base_url.endswith("/"):
        base_url += "/"
    cache = _get(project, "cache_dir", str, "", where)
    feedback = _feedback_url(_get(project, "feedback_url", str, "", where), where)
    return Config(
        name=_get(project, "name", str, Config.name, where),
        admin_code=str(project.get("admin_code", Config.admin_code)),
        base_url=base_url,
        language=language,
        data_date=str(project.get("data_date", "")),
        feedback_url=feedback,
        sources=tuple(sources),
        communities=tuple(str(c) for c in _get(data, "communities", list, [], where)),
        outputs=outputs,
        paper=_get(build, "paper", str, "A2", where),
        plate_size=_get(build, "plate_size", str, "small", where),
        draft=draft,
        poster_signs=bool(_get(build, "poster_signs", bool, False, where)),
        workers=int(_get(build, "workers", int, 2, where)),
        executor=executor,
        dask_address=_get(build, "dask_address", str, "", where),
        targets_m=targets,
        routing=_routing(data.get("routing", {}), where),
        cache_dir=str((base / cache).resolve()) if cache else "",
        config_path=str(path.resolve()),
    )


def _routing(table: dict, where: str) -> RouteCosts:
    """``[routing]``: every value a positive number (``alternative_pct`` may be 0); unknown keys are errors."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [routing] must be a table")
    known = {f.name for f in fields(RouteCosts)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{where}: unknown [routing] keys {sorted(unknown)} (known: {', '.join(sorted(known))})")
    values = {}
    for key, value in table.items():
        least = 0.0 if key in ("alternative_pct", "park_s", "gate_park_s", "gate_parking_m") else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (value < least if least is not None else value <= 0):
            kind = "a number >= 0" if least is not None else "a positive number"
            raise ConfigError(f"{where}: routing.{key} must be {kind}, got {value!r}")
        values[key] = float(value)
    return RouteCosts(**values)


def _feedback_url(template: str, where: str) -> str:
    """Check ``[project] feedback_url``: an http(s) URL whose only fields are ``{unit_id}`` / ``{community_id}``."""
    import string

    if not template:
        return ""
    if not template.startswith(("https://", "http://")):
        raise ConfigError(f"{where}: project.feedback_url must start with https:// or http://, got {template!r}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: project.feedback_url is not a valid template: {exc}") from None
    unknown = fields - {"unit_id", "community_id"}
    if unknown:
        raise ConfigError(
            f"{where}: project.feedback_url may use {{unit_id}} and {{community_id}} only, got {sorted(unknown)}"
        )
    return template


def feedback_link(config: Config, *, community_id: str, unit_id: str = "") -> str:
    """The report-a-problem URL for a compound or a unit (``""`` when none is configured); ids URL-quoted."""
    from urllib.parse import quote

    if not config.feedback_url:
        return ""
    return config.feedback_url.format(
        unit_id=quote(unit_id or community_id, safe=""), community_id=quote(community_id, safe="")
    )
