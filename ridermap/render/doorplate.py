"""QR doorplates for units, buildings and gates: content, layout in mm, SVG/PDF, imposition.

A plate (domain.md §4, Tianjin standard-address QR plate) is blue with white
bold sans text and a black-on-white QR code::

    +--------------------------------------------------+
    |  锦华苑 7号楼 2单元          +-------------+     |   address (wraps / shrinks)
    |                              |  QR code    |     |
    |  2单元                       |  (quiet     |     |   headline: the large number
    |                              |   zone in)  |     |
    |                              +-------------+     |
    |                                 扫码导航         |   caption
    |  户号 201-1804                 Plus Code ...     |   details | plus code
    +--------------------------------------------------+

Sizes (:data:`PLATE_SIZES`): small 150×90 mm with a 40 mm QR, medium
270×170 / 75 mm, large 570×370 / 120 mm. The QR size is the white square,
which includes the 4-module quiet zone; error correction is M or higher
(raised to Q or H when that costs no extra size); never Micro QR.

Text
    Every character of a name is kept. A text block first shrinks, then
    wraps (between CJK characters, at spaces, never before closing
    punctuation), down to a minimum size per block; text that still does not
    fit raises :class:`~ridermap.errors.RenderError` naming the plate; it never
    overflows. "Bold" is the regular Noto Sans SC drawn with a white outline
    stroke of :data:`BOLD_EM` (fill + stroke), because only the regular
    weight ships with the project's font package.

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

Print sheets
    :func:`sheets_pdf` imposes plates on A4 / A3 portrait (turned 90° when
    more fit: 3 small plates per A4, 6 per A3, 2 medium per A3) with 6 mm
    gutters holding the cut marks and each plate's id in small type; large
    plates (570×370 mm) go one per page (``fit``). The PDF is written by
    :mod:`ridermap.render.doorplate_pdf` with the font embedded as a subset.

This module never touches the disk (it reads the font file only).
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ridermap.config import Config
from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import is_inferred, needs_draft
from ridermap.render.honest import access_label, compound_title, known_access, survey_key_of
from ridermap.render.honest import words as honest_words
from ridermap.render.doorplate_pdf import CidFont, PdfBuilder, fmt, load_font
from ridermap.render.doorplate_text import BASELINE_EM, BOLD_EM, LINE_EM, fit, is_cjk, width_em
from ridermap.render.fonts import check_glyphs, cjk_font_path, drawable_fields
from ridermap.urls import absolute, building_path, gate_path, unit_path

log = logging.getLogger(__name__)

KINDS = ("unit", "building", "gate")


@dataclass(frozen=True)
class PlateSize:
    """Trim size of a plate and the side of its QR square (quiet zone included), in mm."""

    name: str
    width_mm: float
    height_mm: float
    qr_mm: float


#: the size table of domain.md §4
PLATE_SIZES: dict[str, PlateSize] = {
    "small": PlateSize("small", 150.0, 90.0, 40.0),
    "medium": PlateSize("medium", 270.0, 170.0, 75.0),
    "large": PlateSize("large", 570.0, 370.0, 120.0),
}
#: paper sizes (portrait) for imposed sheets; ``fit`` makes one page per plate with marks
SHEET_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
SHEETS = ("A4", "A3", "fit")
#: default sheet per plate size (the smallest paper that holds it)
DEFAULT_SHEET = {"small": "A4", "medium": "A3", "large": "fit"}

#: plate colours (RGB 0..1): doorplate blue, white, black
BLUE = (0.0, 0.31, 0.63)
#: the "草图 / DRAFT" band: dark red on light yellow
DRAFT_FACE = (1.0, 0.96, 0.62)
DRAFT_INK = (0.72, 0.11, 0.11)
#: QR quiet zone in modules
QUIET_ZONE = 4
#: sheet margin and gutter between plates (cut marks and plate ids live there), mm
SHEET_MARGIN_MM = 6.0
GUTTER_MM = 6.0
CUT_MARK_OFFSET_MM = 1.5
CUT_MARK_LENGTH_MM = 3.5
ID_TEXT_MM = 2.2

_TEXTS = {
    "zh": {
        "caption": "扫码导航",
        "no_unit": "未编号单元",
        "no_building": "未编号楼栋",
        "unit": "{n}单元",
        "building": "{n}号楼",
        "gate": "出入口",
        "flats": "户号 {flats}",
        "units": "单元 {units}",
        "locked": "常闭",
        "sep": "、",
        "key_note": "{kind} {key}，{what}待核实",
        "survey_key": "调查编号",
        "no_unit_what": "单元号",
        "no_building_what": "楼号",
        "rule_unconfirmed": "骑手通行：待核实",
        "location_unconfirmed": "位置待核实",
    },
    "en": {
        "caption": "Scan for directions",
        "no_unit": "Unit (no number)",
        "no_building": "Building (no number)",
        "unit": "Unit {n}",
        "building": "Building {n}",
        "gate": "Gate",
        "flats": "Flats {flats}",
        "units": "Units {units}",
        "locked": "usually locked",
        "sep": ", ",
        "key_note": "{kind} {key}; {what} to be confirmed",
        "survey_key": "Survey key",
        "no_unit_what": "unit number",
        "no_building_what": "building number",
        "rule_unconfirmed": "Rider access: to be confirmed",
        "location_unconfirmed": "Location to be confirmed",
    },
}
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
        return "".join((self.address, self.headline, *self.details, self.plus_code, self.caption, self.plate_id,
                        self.draft))

    def visible_text(self) -> str:
        """What a person reads on the plate (not the id in the sheet margin), one line per block."""
        return "\n".join((self.draft, self.address, self.headline, *self.details, self.plus_code, self.caption))


#: the Plate fields printed as text (made drawable by the font before layout)
_PRINTED = ("address", "headline", "details", "plus_code", "caption")


# --------------------------------------------------------------------------- content
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


def _gate_plate_text(row, texts: dict[str, str], lang: str) -> tuple[str, tuple[str, ...]]:
    """Headline and detail lines of a gate plate: its rule only from data, 待核实 where unknown or inferred."""
    name = str(row.name).strip()
    access = known_access(row.rider_access)
    if access == "unknown":
        rule = _join(texts["rule_unconfirmed"], texts["locked"] if row.locked else "")
    else:
        rule = _join(access_label(access, lang), str(row.hours), texts["locked"] if row.locked else "")
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
    texts = _TEXTS.get(config.language, _TEXTS["zh"])
    # never the OSM id; 待核实 on an inferred name
    compound = compound_title(view.communities["name"].iloc[0], view.communities["inferred"].iloc[0], config.language)[0]
    common = {"community_id": community_id, "base": config.base_url, "compound": compound, "caption": texts["caption"]}
    buildings = view.buildings.assign(_key=[_sort_key(n, i) for i, n in zip(view.buildings["id"], view.buildings["number"])])
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


def _building_labels(buildings: pd.DataFrame, texts: dict, kinds: tuple[str, ...],
                     unnumbered: list[str]) -> tuple[dict[str, str], dict[str, str], set[str]]:
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


def _gate_plates(gates: pd.DataFrame, texts: dict, language: str, common: dict) -> list[Plate]:
    """The gate plates, by gate id."""
    plates: list[Plate] = []
    community_id = common["community_id"]
    unnamed = int((gates["name"].astype(str).str.strip() == "").sum())
    for row in gates.sort_values("id", kind="stable").itertuples(index=False):
        name, details = _gate_plate_text(row, texts, language)
        if not name:  # unnamed: by its survey key, or its id when several are unnamed
            key = str(row.survey_key).strip() or (survey_key_of("", row.id) if unnamed > 1 else "")
            name = _join(texts["gate"], key)
        plates.append(Plate(
            plate_id=row.id, kind="gate", community_id=community_id,
            payload=absolute(common["base"], gate_path(community_id, row.id)),
            address=_join(common["compound"], name), headline=name, details=details,
            plus_code=_plus_code(row.geometry), caption=common["caption"],
        ))
    return plates


def _building_plates(buildings: pd.DataFrame, units: pd.DataFrame, building_label: dict[str, str],
                     building_key: dict[str, str], texts: dict, common: dict) -> list[Plate]:
    """The building plates, in building order; the unit numbers listed on each."""
    plates: list[Plate] = []
    community_id = common["community_id"]
    for row in buildings.itertuples(index=False):
        label = building_label[row.id]
        own = units[units["building_id"] == row.id]
        numbers = [str(n) for n in own["number"] if str(n).strip()]
        listed = texts["sep"].join(numbers[:_MAX_UNITS_LISTED]) + ("…" if len(numbers) > _MAX_UNITS_LISTED else "")
        details = (texts["units"].format(units=listed),) if numbers else ()
        headline = label
        if row.id in building_key:  # the key large; the note says what it is
            headline = building_key[row.id]
            kind = texts["survey_key"] if str(row.survey_key).strip() else "OSM"
            details += (texts["key_note"].format(kind=kind, key=headline, what=texts["no_building_what"]),)
        plates.append(Plate(
            plate_id=row.id, kind="building", community_id=community_id,
            payload=absolute(common["base"], building_path(community_id, row.id)),
            address=_join(common["compound"], label), headline=headline, details=details,
            plus_code=_plus_code(row.geometry), caption=common["caption"],
        ))
    return plates


def _unit_plates(units: pd.DataFrame, building_label: dict[str, str], building_missing: set[str],
                 texts: dict, common: dict, unnumbered: list[str]) -> list[Plate]:
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
        plates.append(Plate(
            plate_id=row.id, kind="unit", community_id=common["community_id"],
            payload=absolute(common["base"], unit_path(row.id)),
            address=_join(common["compound"], b_label, label), headline=headline, details=details,
            plus_code=_plus_code(row.geometry), caption=common["caption"],
        ))
    return plates


def _finish_plates(plates: list[Plate], gates: pd.DataFrame, community_id: str, config: Config,
                   draft: bool | str | None, unnumbered: list[str]) -> list[Plate]:
    """The draft band, the warning on plates printed without a number, and the glyph checks."""
    if needs_draft(getattr(config, "draft", "auto") if draft is None else draft, gates, community_id):
        hw = honest_words(config.language)
        plates = [dataclasses.replace(p, draft=f"{hw['draft']} · {hw['draft_note']}") for p in plates]
    if unnumbered:
        log.warning("%s: %d plate(s) printed without a number (%s): survey their numbers",
                    community_id, len(unnumbered), ", ".join(unnumbered[:10]) + (" …" if len(unnumbered) > 10 else ""))
    # data text the font cannot draw (emoji, bidi controls) is dropped or replaced, never an error
    plates = [drawable_fields(p, _PRINTED, where=f"doorplate {p.plate_id}") for p in plates]
    for plate in plates:
        check_glyphs(plate.all_text(), where=f"doorplate {plate.plate_id}")
    return plates


def _sort_key(number: object, fallback: str) -> tuple[int, float, str]:
    text = str(number).strip()
    try:
        return (0, float(text), text)
    except ValueError:
        return (1 if text else 2, 0.0, text or fallback)


# --------------------------------------------------------------------------- QR
@dataclass(frozen=True)
class QrSymbol:
    """A QR code's modules (``True`` = dark, no quiet zone), version and error-correction level."""

    modules: np.ndarray
    version: int
    error: str

    @property
    def size(self) -> int:
        return int(self.modules.shape[0])


def _encode(payload: str, level: str) -> np.ndarray:
    import zxingcpp

    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=level)
    return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128


_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def _boosted(payload: str) -> tuple[np.ndarray, str]:
    """Encode at M, then at Q and H while the symbol keeps its size."""
    modules, level = _encode(payload, "M"), "M"
    for higher in ("Q", "H"):  # if Q needs a bigger symbol, so does H
        boosted = _encode(payload, higher)
        if boosted.shape != modules.shape:
            break
        modules, level = boosted, higher
    return modules, level


@lru_cache(maxsize=1024)
def _byte_mode_level(length: int) -> tuple[str, int]:
    """Best level and symbol size for a byte-mode payload of ``length`` bytes."""
    modules, level = _boosted("a" * length)
    return level, modules.shape[0]


def make_qr(payload: str) -> QrSymbol:
    """The QR code of ``payload``: a full (never Micro) QR code, error correction ≥ M.

    The smallest version that holds ``payload`` at level M is used, and the
    level is raised to Q or H when that fits the same version (as segno's
    ``boost_error``). Encoded with zxing-cpp's writer (C++, ~20× faster than
    segno here, see ``benchmarks/doorplates.py``); what is printed is checked
    by decoding the rasterised PDF (:mod:`ridermap.publish.doorplates`).
    URLs are byte mode, whose capacity depends on the length only, so the
    level found for one length is reused (one encode per plate, checked).
    """
    try:
        modules = None
        data = payload.encode("utf-8")
        if any(ch not in _ALPHANUMERIC for ch in payload):  # byte mode
            level, size = _byte_mode_level(len(data))
            modules = _encode(payload, level)
            if modules.shape[0] != size:  # the encoder chose otherwise: do it the long way
                modules = None
        if modules is None:
            modules, level = _boosted(payload)
    except (ValueError, RuntimeError) as exc:
        raise RenderError(f"cannot encode {payload!r} as a QR code: {exc}") from exc
    n = modules.shape[0]
    if modules.ndim != 2 or n != modules.shape[1] or n < 21 or (n - 17) % 4:
        raise RenderError(f"QR for {payload!r} is {modules.shape} modules: not a full QR code")
    return QrSymbol(modules, (n - 17) // 4, level)


def _qr_runs(modules: np.ndarray) -> np.ndarray:
    """Horizontal runs of dark modules as rows of ``(row, column, length)``."""
    padded = np.zeros((modules.shape[0], modules.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = modules
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return np.stack([rows, starts, ends - starts], axis=1).astype(np.int32)


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class TextRun:
    """One line of text: left end of its baseline and its size, in plate mm (y down)."""

    role: str
    text: str
    x_mm: float
    baseline_mm: float
    size_mm: float


@dataclass(frozen=True, eq=False)
class PlateLayout:
    """Everything placed on one plate, in mm from the plate's top-left corner (y down).

    Attributes
    ----------
    qr_x_mm, qr_y_mm
        Top-left corner of the white QR square (``size.qr_mm`` wide, quiet zone included).
    module_mm
        Side of one QR module.
    runs
        Dark modules as horizontal runs, one ``(row, column, length)`` per row
        of an ``int32`` array, in modules from the symbol's top-left corner.
    texts
        Every line of text.
    text_box_mm
        ``(x0, y0, x1, y1)`` of the text column left of the QR code.
    """

    plate: Plate
    size: PlateSize
    qr_x_mm: float
    qr_y_mm: float
    module_mm: float
    qr_modules: int
    qr_version: int
    qr_error: str
    runs: np.ndarray
    texts: tuple[TextRun, ...]
    frame_inset_mm: float
    frame_width_mm: float
    text_box_mm: tuple[float, float, float, float]
    #: ``(x0, y0, x1, y1)`` of the "草图 / DRAFT" band, or ``None``
    band_mm: tuple[float, float, float, float] | None = None


def _block(font: CidFont, text: str, *, role: str, where: str, x0: float, x1: float, top: float,
           height: float, max_size: float, min_size: float, max_lines: int, align: str = "left") -> list[TextRun]:
    chosen = fit(font, text, round(x1 - x0, 4), round(height, 4), round(max_size, 4), round(min_size, 4), max_lines)
    if chosen is None:
        raise RenderError(
            f"doorplate {where}: {role} text {text!r} does not fit {x1 - x0:.0f}×{height:.0f} mm "
            f"even at {min_size:.1f} mm in {max_lines} line(s); shorten it"
        )
    runs = []
    size = chosen.size_mm
    for i, line in enumerate(chosen.lines):
        if align == "center":
            x = (x0 + x1) / 2 - width_em(font, line) * size / 2
        else:
            x = x0 + BOLD_EM / 2 * size
        runs.append(TextRun(role, line, x, top + (i * LINE_EM + BASELINE_EM) * size, size))
    return runs


def _size(size: PlateSize | str) -> PlateSize:
    if isinstance(size, PlateSize):
        return size
    if size not in PLATE_SIZES:
        raise RenderError(f"unknown plate size {size!r} (known: {', '.join(PLATE_SIZES)})")
    return PLATE_SIZES[size]


def layout_plate(plate: Plate, *, size: PlateSize | str = "small", font: CidFont | None = None) -> PlateLayout:
    """Place the QR code and the text of ``plate`` on a plate of ``size``.

    The QR square sits top right, a margin of 7 % of the plate height from
    the edges; under it the caption and the plus code. Left of it, from the
    top: the address (up to 3 lines), the headline (as large as fits, up to
    30 % of the plate height, 2 lines), the details at the bottom.

    Parameters
    ----------
    plate
        What the plate says.
    size
        ``small``, ``medium``, ``large`` or a :class:`PlateSize`.
    font
        Default: :func:`default_font`.

    Raises
    ------
    RenderError
        When a text does not fit even at its minimum size, or the QR modules
        would be smaller than 0.5 mm (payload too long).
    """
    size = _size(size)
    font = font or default_font()
    W, H, Q = size.width_mm, size.height_mm, size.qr_mm
    m = 0.07 * H
    gap = 0.05 * H
    qr = make_qr(plate.payload)
    n = qr.size
    module = Q / (n + 2 * QUIET_ZONE)
    if module < 0.5:
        raise RenderError(f"doorplate {plate.plate_id}: payload {plate.payload!r} needs QR version {qr.version}; "
                          f"modules would be {module:.2f} mm on a {Q:.0f} mm code: shorten base_url")
    where = plate.plate_id
    band, band_runs, top = None, [], m
    if plate.draft:  # a band inside the frame line, above the QR code and the text
        inset = 0.03 * H + 0.007 * H
        band = (inset, inset, W - inset, inset + 0.08 * H)
        band_runs = _block(font, plate.draft, role="draft", where=where, x0=band[0] + 0.02 * H, x1=band[2] - 0.02 * H,
                           top=band[1] + 0.012 * H, height=band[3] - band[1] - 0.024 * H, max_size=0.05 * H,
                           min_size=0.025 * H, max_lines=1, align="center")
        top = band[3] + 0.025 * H
    qr_x, qr_y = W - m - Q, top
    x0, x1 = m, qr_x - gap
    bottom = H - m
    under_qr: list[TextRun] = []

    # under the QR: caption, then the plus code
    y = qr_y + Q + 0.03 * H
    qx0, qx1 = qr_x - 0.3 * gap, W - m + 0.3 * gap
    if plate.caption:
        under_qr = _block(font, plate.caption, role="caption", where=where, x0=qx0, x1=qx1, top=y,
                          height=min((bottom - y) * 0.55, 0.1 * H), max_size=0.07 * H, min_size=0.025 * H,
                          max_lines=2, align="center")
        y += len(under_qr) * LINE_EM * under_qr[0].size_mm
    if plate.plus_code:
        under_qr += _block(font, plate.plus_code, role="plus_code", where=where, x0=qx0, x1=qx1, top=y,
                           height=bottom - y, max_size=0.045 * H, min_size=0.025 * H, max_lines=2, align="center")

    # left column: address (top), details (bottom), headline (between, centred vertically)
    address = _block(font, plate.address, role="address", where=where, x0=x0, x1=x1, top=top,
                     height=0.3 * H, max_size=0.1 * H, min_size=0.035 * H, max_lines=3) if plate.address else []
    address_bottom = top + sum(LINE_EM * r.size_mm for r in address)
    details: list[TextRun] = []
    y_details = bottom
    for line in reversed(plate.details):
        block = _block(font, line, role="detail", where=where, x0=x0, x1=x1, top=0.0,
                       height=0.14 * H, max_size=0.06 * H, min_size=0.03 * H, max_lines=2)
        y_details -= len(block) * LINE_EM * block[0].size_mm
        details = [dataclasses.replace(r, baseline_mm=r.baseline_mm + y_details) for r in block] + details
    head_top = address_bottom + (0.04 * H if address else 0)
    head_bottom = y_details - (0.03 * H if details else 0)
    headline: list[TextRun] = []
    if plate.headline:
        headline = _block(font, plate.headline, role="headline", where=where, x0=x0, x1=x1, top=head_top,
                          height=head_bottom - head_top, max_size=0.3 * H, min_size=0.06 * H, max_lines=2)
        shift = max(0.0, (head_bottom - head_top - sum(LINE_EM * r.size_mm for r in headline)) / 2)
        headline = [dataclasses.replace(r, baseline_mm=r.baseline_mm + shift) for r in headline]
    return PlateLayout(
        plate=plate, size=size, qr_x_mm=qr_x, qr_y_mm=qr_y, module_mm=module, qr_modules=n,
        qr_version=qr.version, qr_error=qr.error, runs=_qr_runs(qr.modules),
        texts=tuple(address + headline + details + under_qr + band_runs),
        frame_inset_mm=0.03 * H, frame_width_mm=0.007 * H, text_box_mm=(x0, top, x1, bottom), band_mm=band,
    )


def ink_box(run: TextRun, *, font: CidFont | None = None) -> tuple[float, float, float, float] | None:
    """Where the ink of ``run`` lands, ``(x0, y0, x1, y1)`` in plate mm, bold outline included.

    Measured from the glyph outlines (not the advance widths), so it is what
    a printer puts on the plate.
    """
    font = font or default_font()
    pen = 0.0
    boxes = []
    for ch in run.text:
        b = font.ink_bounds_em(ch)
        if b is not None:
            boxes.append((pen + b[0], b[1], pen + b[2], b[3]))
        pen += font.advance_em(ch)
    if not boxes:
        return None
    half = BOLD_EM / 2
    s = run.size_mm
    return (
        run.x_mm + (min(b[0] for b in boxes) - half) * s,
        run.baseline_mm - (max(b[3] for b in boxes) + half) * s,
        run.x_mm + (max(b[2] for b in boxes) + half) * s,
        run.baseline_mm - (min(b[1] for b in boxes) - half) * s,
    )


@lru_cache(maxsize=1)
def default_font() -> CidFont:
    """The project's CJK font (:func:`ridermap.render.fonts.cjk_font_path`) as a :class:`CidFont`."""
    return load_font(str(cjk_font_path()))


# --------------------------------------------------------------------------- PDF / SVG drawing
def _rgb(c: tuple[float, float, float]) -> str:
    return " ".join(fmt(v) for v in c)


def plate_ops(layout: PlateLayout, *, font: CidFont | None = None) -> str:
    """PDF content-stream operators drawing one plate, in plate mm with y down.

    The QR modules are one path of rectangles in module units (a ``cm``
    scales them), filled once, so no seams appear between modules.
    """
    font = font or default_font()
    size = layout.size
    W, H = size.width_mm, size.height_mm
    i, fw = layout.frame_inset_mm, layout.frame_width_mm
    m = layout.module_mm
    qx = layout.qr_x_mm + QUIET_ZONE * m
    qy = layout.qr_y_mm + QUIET_ZONE * m
    parts = [
        f"q {_rgb(BLUE)} rg 0 0 {fmt(W)} {fmt(H)} re f",
        f"1 1 1 RG {fmt(fw)} w {fmt(i)} {fmt(i)} {fmt(W - 2 * i)} {fmt(H - 2 * i)} re S",
        f"1 g {fmt(layout.qr_x_mm)} {fmt(layout.qr_y_mm)} {fmt(size.qr_mm)} {fmt(size.qr_mm)} re f",
        f"q {fmt(m)} 0 0 {fmt(m)} {fmt(qx)} {fmt(qy)} cm 0 g",
        " ".join(f"{c} {r} {n} 1 re" for r, c, n in layout.runs.tolist()) + " f Q",
    ]
    if layout.band_mm is not None:
        bx0, by0, bx1, by1 = layout.band_mm
        parts.append(f"{_rgb(DRAFT_FACE)} rg {fmt(bx0)} {fmt(by0)} {fmt(bx1 - bx0)} {fmt(by1 - by0)} re f")
    parts.append("1 g 1 G 1 j 1 J BT 2 Tr")
    for run in layout.texts:
        ink = f"{_rgb(DRAFT_INK)} rg {_rgb(DRAFT_INK)} RG " if run.role == "draft" else ""
        reset = " 1 g 1 G" if run.role == "draft" else ""
        parts.append(f"{ink}/F1 {fmt(run.size_mm)} Tf {fmt(BOLD_EM * run.size_mm)} w "
                     f"1 0 0 -1 {fmt(run.x_mm)} {fmt(run.baseline_mm)} Tm {font.encode(run.text)} Tj{reset}")
    parts.append("ET Q\n")
    return "\n".join(parts)


def _hex(c: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(v * 255):02x}" for v in c)


def _svg_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def layout_svg(layout: PlateLayout, *, font: CidFont | None = None) -> str:
    """One laid-out plate as a standalone SVG in mm.

    Text is drawn as glyph outlines (each glyph once in ``<defs>``), so the
    file needs no font to be viewed, cut or printed. ``<title>`` holds the
    address and ``<desc>`` the QR payload.
    """
    font = font or default_font()
    plate, size = layout.plate, layout.size
    W, H = size.width_mm, size.height_mm
    i, fw = layout.frame_inset_mm, layout.frame_width_mm
    m = layout.module_mm
    blue = "#" + "".join(f"{round(v * 255):02x}" for v in BLUE)
    glyphs: dict[str, str] = {}
    text_parts = []
    upm = font.units_per_em
    for run in layout.texts:
        uses = []
        pen = 0.0
        for ch in run.text:
            if not ch.isspace():
                gid = f"g{font.cid(ch)}"
                glyphs.setdefault(gid, font.outline(ch))
                uses.append(f'<use xlink:href="#{gid}" x="{fmt(pen)}"/>')
            pen += font.advance_em(ch) * upm
        k = run.size_mm / upm
        ink = f' fill="{_hex(DRAFT_INK)}" stroke="{_hex(DRAFT_INK)}"' if run.role == "draft" else ""
        text_parts.append(f'<g transform="translate({fmt(run.x_mm)} {fmt(run.baseline_mm)}) scale({k:.6g} {-k:.6g})"{ink}>'
                          + "".join(uses) + "</g>")
    qr_d = "".join(f"M{c} {r}h{n}v1h-{n}z" for r, c, n in layout.runs.tolist())
    defs = "".join(f'<path id="{gid}" d="{d}"/>' for gid, d in sorted(glyphs.items()))
    qx = layout.qr_x_mm + QUIET_ZONE * m
    qy = layout.qr_y_mm + QUIET_ZONE * m
    band = ""
    if layout.band_mm is not None:
        bx0, by0, bx1, by1 = layout.band_mm
        band = (f'<rect class="draft" x="{fmt(bx0)}" y="{fmt(by0)}" width="{fmt(bx1 - bx0)}" height="{fmt(by1 - by0)}" '
                f'fill="{_hex(DRAFT_FACE)}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{fmt(W)}mm" height="{fmt(H)}mm" viewBox="0 0 {fmt(W)} {fmt(H)}">'
        f"<title>{_svg_escape(plate.address)}</title>"
        f'<desc data-plate-id="{_svg_escape(plate.plate_id)}">{_svg_escape(plate.payload)}</desc>'
        f"<defs>{defs}</defs>"
        f'<rect width="{fmt(W)}" height="{fmt(H)}" fill="{blue}"/>'
        f'<rect x="{fmt(i)}" y="{fmt(i)}" width="{fmt(W - 2 * i)}" height="{fmt(H - 2 * i)}" fill="none" '
        f'stroke="#fff" stroke-width="{fmt(fw)}"/>'
        f'<rect class="qr" x="{fmt(layout.qr_x_mm)}" y="{fmt(layout.qr_y_mm)}" width="{fmt(size.qr_mm)}" '
        f'height="{fmt(size.qr_mm)}" fill="#fff"/>'
        f'<path class="qr-modules" transform="translate({fmt(qx)} {fmt(qy)}) scale({m:.6g})" fill="#000" d="{qr_d}"/>'
        + band +
        f'<g class="text" fill="#fff" stroke="#fff" stroke-width="{fmt(BOLD_EM * upm)}" stroke-linejoin="round">'
        + "".join(text_parts) + "</g></svg>\n"
    )


def layout_pdf(layout: PlateLayout, *, font_chars: str = "", font: CidFont | None = None) -> bytes:
    """One laid-out plate as a one-page PDF of exactly its trim size (font subset embedded).

    Parameters
    ----------
    font_chars
        Extra characters for the embedded font subset. Pass the same string
        (e.g. every character of a compound's plates, see :meth:`Plate.all_text`)
        for many plates and the subset is made once and reused.
    """
    font = font or default_font()
    plate = layout.plate
    doc = PdfBuilder(font, title=f"{plate.address} ({plate.plate_id})")
    doc.use_text(font_chars)
    for run in layout.texts:
        doc.use_text(run.text)
    doc.add_page(layout.size.width_mm, layout.size.height_mm, plate_ops(layout, font=font))
    return doc.to_bytes()


def plate_svg(plate: Plate, *, size: PlateSize | str = "small", font: CidFont | None = None) -> str:
    """``layout_svg(layout_plate(plate, size=size))``."""
    return layout_svg(layout_plate(plate, size=size, font=font), font=font)


def plate_pdf(plate: Plate, *, size: PlateSize | str = "small", font_chars: str = "",
              font: CidFont | None = None) -> bytes:
    """``layout_pdf(layout_plate(plate, size=size))``."""
    return layout_pdf(layout_plate(plate, size=size, font=font), font_chars=font_chars, font=font)


# --------------------------------------------------------------------------- imposition
@dataclass(frozen=True)
class Placement:
    """Where plate ``index`` sits on the imposed sheets (mm from the page's top-left, y down).

    ``width_mm`` × ``height_mm`` is the box the plate occupies on the page
    (swapped from the plate's size when ``rotated``: turned 90° clockwise).
    ``page`` is 0-based.
    """

    index: int
    page: int
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    rotated: bool


@dataclass(frozen=True)
class SheetGrid:
    """How plates tile one sheet: ``cols`` × ``rows`` boxes from ``(x0_mm, y0_mm)``."""

    sheet: str
    page_width_mm: float
    page_height_mm: float
    cols: int
    rows: int
    rotated: bool
    x0_mm: float
    y0_mm: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows


def sheet_grid(size: PlateSize | str, *, sheet: str) -> SheetGrid:
    """How plates of ``size`` tile a ``sheet`` (A4 / A3 portrait, or ``fit``: one plate per page).

    Plates keep :data:`GUTTER_MM` between them and :data:`SHEET_MARGIN_MM`
    from the paper edge; they are turned 90° when more fit that way.

    Raises
    ------
    RenderError
        The plate does not fit the paper.
    """
    size = _size(size)
    w, h = size.width_mm, size.height_mm
    if sheet == "fit":
        pad = SHEET_MARGIN_MM + GUTTER_MM
        return SheetGrid("fit", w + 2 * pad, h + 2 * pad, 1, 1, False, pad, pad)
    if sheet not in SHEET_SIZES_MM:
        raise RenderError(f"unknown sheet {sheet!r} (known: {', '.join(SHEETS)})")
    pw, ph = SHEET_SIZES_MM[sheet]
    best = None
    for rotated, (bw, bh) in ((False, (w, h)), (True, (h, w))):
        cols = int((pw - 2 * SHEET_MARGIN_MM + GUTTER_MM) // (bw + GUTTER_MM))
        rows = int((ph - 2 * SHEET_MARGIN_MM + GUTTER_MM) // (bh + GUTTER_MM))
        if cols * rows and (best is None or cols * rows > best[0] * best[1]):
            best = (cols, rows, rotated, bw, bh)
    if best is None:
        raise RenderError(
            f"{size.name} plates ({w:.0f}×{h:.0f} mm) do not fit on {sheet} ({pw:.0f}×{ph:.0f} mm) with "
            f"{SHEET_MARGIN_MM:.0f} mm margins; use --sheet fit (one plate per page) or a smaller --size"
        )
    cols, rows, rotated, bw, bh = best
    x0 = (pw - (cols * bw + (cols - 1) * GUTTER_MM)) / 2
    y0 = (ph - (rows * bh + (rows - 1) * GUTTER_MM)) / 2
    return SheetGrid(sheet, pw, ph, cols, rows, rotated, x0, y0)


def impose(count: int, *, size: PlateSize | str = "small", sheet: str = "A4") -> tuple[SheetGrid, list[Placement]]:
    """Placements of ``count`` plates, filling each page row by row."""
    size = _size(size)
    grid = sheet_grid(size, sheet=sheet)
    bw, bh = (size.height_mm, size.width_mm) if grid.rotated else (size.width_mm, size.height_mm)
    out = []
    for index in range(count):
        page, slot = divmod(index, grid.per_page)
        row, col = divmod(slot, grid.cols)
        out.append(Placement(index, page, grid.x0_mm + col * (bw + GUTTER_MM), grid.y0_mm + row * (bh + GUTTER_MM),
                             bw, bh, grid.rotated))
    return grid, out


def _cut_marks(p: Placement) -> str:
    """Two short lines at each corner, on the extension of the trim edges, off the plate."""
    o, n = CUT_MARK_OFFSET_MM, CUT_MARK_LENGTH_MM
    x0, y0, x1, y1 = p.x_mm, p.y_mm, p.x_mm + p.width_mm, p.y_mm + p.height_mm
    segs = []
    for x, sx in ((x0, -1), (x1, 1)):
        for y, sy in ((y0, -1), (y1, 1)):
            segs.append(f"{fmt(x + sx * o)} {fmt(y)} m {fmt(x + sx * (o + n))} {fmt(y)} l")
            segs.append(f"{fmt(x)} {fmt(y + sy * o)} m {fmt(x)} {fmt(y + sy * (o + n))} l")
    return " ".join(segs) + " S"


def sheets_pdf(
    plates: Sequence[Plate],
    *,
    size: PlateSize | str = "small",
    sheet: str | None = None,
    title: str = "",
    layouts: Sequence[PlateLayout] | None = None,
    font: CidFont | None = None,
) -> tuple[bytes, SheetGrid, list[Placement]]:
    """Impose ``plates`` on print sheets with cut marks and each plate id in the margin.

    Parameters
    ----------
    plates
        From :func:`plates_for_community` (any number of compounds).
    size
        ``small``, ``medium`` or ``large`` (:data:`PLATE_SIZES`).
    sheet
        ``A4``, ``A3`` or ``fit``; ``None``: :data:`DEFAULT_SHEET` for the size.
    title
        Document title.
    layouts
        The plates already laid out at ``size`` (saves the work when the
        caller also writes one file per plate).

    Returns
    -------
    pdf : bytes
    grid : SheetGrid
    placements : list of Placement
        One per plate, in the order of ``plates``.
    """
    font = font or default_font()
    size = _size(size)
    sheet = sheet or DEFAULT_SHEET[size.name]
    if not plates:
        raise RenderError("no doorplates to impose (no units, buildings or gates selected)")
    if layouts is not None and (len(layouts) != len(plates) or any(lay.size != size for lay in layouts)):
        raise RenderError("layouts must be one per plate, all of the sheets' plate size")
    grid, placements = impose(len(plates), size=size, sheet=sheet)
    doc = PdfBuilder(font, title=title or f"ridermap doorplates {size.name} {sheet}")
    page_ops: list[list[str]] = [[] for _ in range(placements[-1].page + 1)]
    id_x = CUT_MARK_OFFSET_MM + CUT_MARK_LENGTH_MM
    id_y = 1.0 + 0.9 * ID_TEXT_MM
    for k, (plate, p) in enumerate(zip(plates, placements)):
        layout = layouts[k] if layouts is not None else layout_plate(plate, size=size, font=font)
        for run in layout.texts:
            doc.use_text(run.text)
        doc.use_text(plate.plate_id)
        if p.rotated:  # 90° clockwise: plate (u, v) -> page (x + h - v, y + u)
            cm = f"0 1 -1 0 {fmt(p.x_mm + p.width_mm)} {fmt(p.y_mm)} cm"
        else:
            cm = f"1 0 0 1 {fmt(p.x_mm)} {fmt(p.y_mm)} cm"
        ops = page_ops[p.page]
        ops.append(f"q {cm}\n{plate_ops(layout, font=font)}Q")
        ops.append(f"0 G 0.1 w {_cut_marks(p)}")
        ops.append(f"BT 0 g 0 Tr /F1 {fmt(ID_TEXT_MM)} Tf 1 0 0 -1 {fmt(p.x_mm + id_x)} "
                   f"{fmt(p.y_mm + p.height_mm + id_y)} Tm {font.encode(plate.plate_id)} Tj ET")
    for ops in page_ops:
        doc.add_page(grid.page_width_mm, grid.page_height_mm, "\n".join(ops) + "\n")
    return doc.to_bytes(), grid, placements
