"""What a doorplate says: :class:`Plate` and :func:`plates_for_community` (no geometry).

Missing numbers (our choice: print what is known)
    A unit or building with neither number nor label still gets a plate: its
    id and QR payload are stable (``…-u_n5820145184``), so a rider who scans
    it gets the unit's page. The missing part is printed as ``未编号单元`` /
    ``未编号楼栋`` ("unnumbered unit/building"; English: ``Unit (no number)``)
    followed by the feature's survey key (``未编号楼栋 B07``, ``未编号单元
    U07-2``); the key alone is the large headline, so no two plates of a
    compound read the same and the grid worker finds the row of the survey
    sheet. Without a survey key the OSM id stands in (``w154079723``).
    :func:`plates_for_community` logs a warning listing them so the grid
    worker can survey the number.

Unconfirmed gates
    A gate of unknown rule says ``骑手通行：待核实`` (never a default rule); an
    inferred gate adds ``位置待核实``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from ridermap import i18n
from ridermap.config import Config
from ridermap.errors import RenderError
from ridermap.hours import hours_text
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import is_inferred, needs_draft
from ridermap.render.doorplate.text import is_cjk
from ridermap.render.fonts import check_glyphs, drawable_fields
from ridermap.render.honest import (
    access_label,
    compound_title,
    display_name,
    english_labels,
    known_access,
    survey_key_of,
)
from ridermap.render.honest import words as honest_words
from ridermap.urls import absolute, building_path, gate_path, unit_path

log = logging.getLogger(__name__)

KINDS = ("unit", "building", "gate")

_MAX_UNITS_LISTED = 12


@dataclass(frozen=True)
class Plate:
    """What one doorplate says (no geometry).

    Attributes
    ----------
    plate_id
        The unit, building or gate id (file names, sheet margin).
    kind
        ``unit``, ``building`` or ``gate``.
    payload
        The QR text: the absolute URL of the rider page.
    address
        Standard address text: compound + building (+ unit) or gate.
    headline
        The large text: unit label, building label or gate name.
    details
        Small lines: flats of a unit, units of a building, rider access of a gate.
    plus_code
        Open Location Code of the door (11 digits, about 3 m), or ``""``.
    caption
        The line under the QR ("扫码导航").
    draft
        Text of the "草图 / DRAFT" band across the top of the plate, ``""``
        for none (built from unconfirmed data, see ``[build] draft``).
    """

    plate_id: str
    kind: str
    community_id: str
    payload: str
    address: str
    headline: str
    details: tuple[str, ...] = ()
    plus_code: str = ""
    caption: str = ""
    draft: str = ""

    def all_text(self) -> str:
        """Every character printed for this plate, its id (sheet margin) included."""
        return "".join(
            (self.address, self.headline, *self.details, self.plus_code, self.caption, self.plate_id, self.draft)
        )

    def visible_text(self) -> str:
        """What a person reads on the plate (not the id in the sheet margin), one line per block."""
        return "\n".join((self.draft, self.address, self.headline, *self.details, self.plus_code, self.caption))


#: the Plate fields printed as text (made drawable by the font before layout)
_PRINTED = ("address", "headline", "details", "plus_code", "caption")


def _plus_code(geometry) -> str:
    from openlocationcode import openlocationcode as olc

    if geometry is None or geometry.is_empty:
        return ""
    point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
    return "Plus Code " + olc.encode(point.y, point.x, 11)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _is_bare_number(text: str) -> bool:
    """``12``, ``13А``, ``9H``, ``B3``: digits and letters only, no CJK, at least one digit."""
    return any(ch.isdigit() for ch in text) and all(ch.isalnum() and not is_cjk(ch) for ch in text)


def _label(label: str, number: str, template: str, missing: str) -> tuple[str, bool]:
    """Display label of a building / unit and whether its number is missing.

    The label is kept as written (``7号楼``, ``B3座``, ``Дом Кругера``), except
    that a bare number such as ``12`` or ``13А`` (OSM ``ref`` / ``addr:housenumber``)
    gets the kind's word (``12号楼``, ``9H单元``) so the address reads unambiguously.
    """
    label, number = str(label).strip(), str(number).strip()
    if label and not _is_bare_number(label):
        return label, False
    if label or number:
        return template.format(n=label or number), False
    return missing, True


def _gate_plate_text(row, texts: Mapping, lang: str) -> tuple[str, tuple[str, ...]]:
    """Headline and detail lines of a gate plate: its rule only from data, 待核实 where unknown or inferred."""
    name = display_name(row.name, "gate", lang, getattr(row, "name_en", ""))
    access = known_access(row.rider_access)
    if access == "unknown":
        rule = _join(texts["rule_unconfirmed"], texts["locked"] if row.locked else "")
    else:
        rule = _join(
            access_label(access, lang), hours_text(row.hours, lang=lang), texts["locked"] if row.locked else ""
        )
    details = (rule,) if rule else ()
    if is_inferred(row.inferred, "location"):
        details += (texts["location_unconfirmed"],)
    return name, details


def plates_for_community(
    bundle: Bundle,
    community_id: str,
    *,
    config: Config,
    kinds: Iterable[str] = KINDS,
    draft: bool | str | None = None,
) -> list[Plate]:
    """The plates of one compound, gates first, then buildings, then units.

    Parameters
    ----------
    bundle
        Any bundle holding the compound (a single-compound view is taken).
    community_id
        Id of the compound.
    config
        ``base_url`` (QR payloads) and ``language`` (captions, fallbacks).
    kinds
        Any of ``unit``, ``building``, ``gate``.
    draft
        The "草图 / DRAFT" band: ``True`` / ``False`` / ``"auto"`` (on when the
        compound has no confirmed gate); ``None`` takes ``config.draft``.

    Returns
    -------
    list of Plate
        Gates (by id), then buildings (by number), then units (by building
        and unit number); only the ``kinds`` asked for.

    Raises
    ------
    RenderError
        Unknown kind, or a character the CJK font cannot draw.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise RenderError(f"unknown doorplate kind(s) {sorted(unknown)} (known: {', '.join(KINDS)})")
    view = bundle.community(community_id)
    if config.language == "en":  # 7号楼 -> Building 7: generated labels in English; names from data stay
        view = english_labels(view)
    texts = i18n.words("plate", config.language)
    # never the OSM id; 待核实 on an inferred name
    comm = view.communities.iloc[0]
    compound = compound_title(comm["name"], comm["inferred"], config.language, comm["name_en"])[0]
    common = {"community_id": community_id, "base": config.base_url, "compound": compound, "caption": texts["caption"]}
    buildings = view.buildings.assign(
        _key=[_sort_key(n, i) for i, n in zip(view.buildings["id"], view.buildings["number"])]
    )
    buildings = buildings.sort_values("_key", kind="stable")
    unnumbered: list[str] = []
    building_label, building_key, building_missing = _building_labels(buildings, texts, kinds, unnumbered)
    building_number = dict(zip(buildings["id"], buildings["number"]))
    units = view.units.assign(
        _bkey=[_sort_key(building_number.get(b, ""), b) for b in view.units["building_id"]],
        _ukey=[_sort_key(n, i) for i, n in zip(view.units["id"], view.units["number"])],
    ).sort_values(["_bkey", "_ukey"], kind="stable")

    plates: list[Plate] = []
    if "gate" in kinds:
        plates += _gate_plates(view.gates, texts, config.language, common)
    if "building" in kinds:
        plates += _building_plates(buildings, units, building_label, building_key, texts, common)
    if "unit" in kinds:
        plates += _unit_plates(units, building_label, building_missing, texts, common, unnumbered)
    return _finish_plates(plates, view.gates, community_id, config, draft, unnumbered)


def _building_labels(
    buildings: pd.DataFrame, texts: Mapping, kinds: tuple[str, ...], unnumbered: list[str]
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """The printed label of each building, the survey key of the unnumbered ones, and their ids.

    Appends the unnumbered buildings to ``unnumbered`` when building plates are asked for.
    """
    building_label: dict[str, str] = {}
    building_key: dict[str, str] = {}
    building_missing: set[str] = set()
    for row in buildings.itertuples(index=False):
        label, missing = _label(row.label, row.number, texts["building"], texts["no_building"])
        if missing:  # 未编号楼栋 B07: tells the plates of a compound apart
            building_key[row.id] = survey_key_of(row.survey_key, row.id)
            label = f"{label} {building_key[row.id]}"
        building_label[row.id] = label
        if missing:
            building_missing.add(row.id)
            if "building" in kinds:
                unnumbered.append(row.id)
    return building_label, building_key, building_missing


def _gate_plates(gates: pd.DataFrame, texts: Mapping, language: str, common: dict) -> list[Plate]:
    """The gate plates, by gate id."""
    plates: list[Plate] = []
    community_id = common["community_id"]
    unnamed = int((gates["name"].astype(str).str.strip() == "").sum())
    for row in gates.sort_values("id", kind="stable").itertuples(index=False):
        name, details = _gate_plate_text(row, texts, language)
        if not name:  # unnamed: by its survey key, or its id when several are unnamed
            key = str(row.survey_key).strip() or (survey_key_of("", row.id) if unnamed > 1 else "")
            name = _join(texts["gate"], key)
        plates.append(
            Plate(
                plate_id=row.id,
                kind="gate",
                community_id=community_id,
                payload=absolute(common["base"], gate_path(community_id, row.id)),
                address=_join(common["compound"], name),
                headline=name,
                details=details,
                plus_code=_plus_code(row.geometry),
                caption=common["caption"],
            )
        )
    return plates


def _building_plates(
    buildings: pd.DataFrame,
    units: pd.DataFrame,
    building_label: dict[str, str],
    building_key: dict[str, str],
    texts: Mapping,
    common: dict,
) -> list[Plate]:
    """The building plates, in building order; the unit numbers listed on each."""
    plates: list[Plate] = []
    community_id = common["community_id"]
    numbers_of: dict[str, list[str]] = {}  # each building's unit numbers, in unit order
    for b, n in zip(units["building_id"], units["number"]):
        numbers_of.setdefault(b, []).append(str(n))
    for row in buildings.itertuples(index=False):
        label = building_label[row.id]
        numbers = [n for n in numbers_of.get(row.id, ()) if n.strip()]
        listed = texts["sep"].join(numbers[:_MAX_UNITS_LISTED]) + ("…" if len(numbers) > _MAX_UNITS_LISTED else "")
        details = (texts["units"].format(units=listed),) if numbers else ()
        headline = label
        if row.id in building_key:  # the key large; the note says what it is
            headline = building_key[row.id]
            kind = texts["survey_key"] if str(row.survey_key).strip() else "OSM"
            details += (texts["key_note"].format(kind=kind, key=headline, what=texts["no_building_what"]),)
        plates.append(
            Plate(
                plate_id=row.id,
                kind="building",
                community_id=community_id,
                payload=absolute(common["base"], building_path(community_id, row.id)),
                address=_join(common["compound"], label),
                headline=headline,
                details=details,
                plus_code=_plus_code(row.geometry),
                caption=common["caption"],
            )
        )
    return plates


def _unit_plates(
    units: pd.DataFrame,
    building_label: dict[str, str],
    building_missing: set[str],
    texts: Mapping,
    common: dict,
    unnumbered: list[str],
) -> list[Plate]:
    """The unit plates, in building then unit order.

    Appends the units printed without a number (theirs or their building's) to ``unnumbered``.
    """
    plates: list[Plate] = []
    for row in units.itertuples(index=False):
        label, missing = _label(row.label, row.number, texts["unit"], texts["no_unit"])
        if missing or row.building_id in building_missing:
            unnumbered.append(row.id)
        b_label = building_label.get(row.building_id, "")
        flats = str(row.flats).strip()
        details = (texts["flats"].format(flats=flats),) if flats else ()
        headline = label
        if missing:  # 未编号单元 U07-2, the key large
            headline = survey_key_of(row.survey_key, row.id)
            label = f"{label} {headline}"
            kind = texts["survey_key"] if str(row.survey_key).strip() else "OSM"
            details += (texts["key_note"].format(kind=kind, key=headline, what=texts["no_unit_what"]),)
        plates.append(
            Plate(
                plate_id=row.id,
                kind="unit",
                community_id=common["community_id"],
                payload=absolute(common["base"], unit_path(row.id)),
                address=_join(common["compound"], b_label, label),
                headline=headline,
                details=details,
                plus_code=_plus_code(row.geometry),
                caption=common["caption"],
            )
        )
    return plates


def _finish_plates(
    plates: list[Plate],
    gates: pd.DataFrame,
    community_id: str,
    config: Config,
    draft: bool | str | None,
    unnumbered: list[str],
) -> list[Plate]:
    """The draft band, the warning on plates printed without a number, and the glyph checks."""
    if config.feedback_url:
        plates = [dataclasses.replace(p, details=(*p.details, report_line(p, config))) for p in plates]
    if needs_draft(getattr(config, "draft", "auto") if draft is None else draft, gates, community_id):
        hw = honest_words(config.language)
        plates = [dataclasses.replace(p, draft=f"{hw['draft']} · {hw['draft_note']}") for p in plates]
    if unnumbered:
        log.warning(
            "%s: %d plate(s) printed without a number (%s): survey their numbers",
            community_id,
            len(unnumbered),
            ", ".join(unnumbered[:10]) + (" …" if len(unnumbered) > 10 else ""),
        )
    # data text the font cannot draw (emoji, bidi controls) is dropped or replaced, never an error
    plates = [drawable_fields(p, _PRINTED, where=f"doorplate {p.plate_id}") for p in plates]
    for plate in plates:
        check_glyphs(plate.all_text(), where=f"doorplate {plate.plate_id}")
    return plates


def report_line(plate: Plate, config: Config) -> str:
    """The plate's report-a-problem line when ``[project] feedback_url`` is set: where to report (the URL's
    host) and the plate's short code (its id after the compound's, ``b7-u2``; the report form gets the whole
    id from the URL)."""
    from urllib.parse import urlsplit

    host = urlsplit(config.feedback_url).netloc
    prefix = f"{plate.community_id}-"
    code = plate.plate_id[len(prefix) :] if plate.plate_id.startswith(prefix) else plate.plate_id
    return i18n.t("plate.report", config.language, host=host, code=code)


def _sort_key(number: object, fallback: str) -> tuple[int, float, str]:
    text = str(number).strip()
    try:
        return (0, float(text), text)
    except ValueError:
        return (1 if text else 2, 0.0, text or fallback)
