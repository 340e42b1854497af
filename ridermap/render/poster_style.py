"""What a gate poster looks like, as data: paper sizes, text sizes, colours, symbols, words.

The drawing code in :mod:`ridermap.render.poster` reads everything visual from
a :class:`PosterStyle`; nothing here draws. Colours follow the Okabe-Ito
palette (safe for colour-blind readers) and every class of symbol also differs
by *shape*, so a black-and-white print still tells them apart. All text is
printed on an opaque background of the colour it is paired with here, and
:func:`contrast_ratio` of each pair is at least 7:1 (WCAG AAA); the tests
check that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ridermap import i18n

#: ISO 216 trim sizes (short side, long side) in mm.
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "A2": (420.0, 594.0),
    "A1": (594.0, 841.0),
    "A0": (841.0, 1189.0),
}
PAPERS = tuple(PAPER_MM)


def larger_paper(paper: str) -> str | None:
    """The next larger ISO paper (``"A3"`` for ``"A4"``), ``None`` after A0."""
    i = PAPERS.index(paper)
    return PAPERS[i + 1] if i + 1 < len(PAPERS) else None


@dataclass(frozen=True)
class TextSizes:
    """Cap heights (height of a capital or a digit) in mm for one paper size."""

    building_mm: float
    unit_mm: float
    gate_mm: float
    title_mm: float
    heading_mm: float
    body_mm: float
    small_mm: float


#: The smallest permitted map label (cap height, mm): legible from about 2 m.
MIN_LABEL_CAP_MM = 4.0

#: Map labels never go below 4 mm cap height; building numbers are 10 mm on A2.
#: Sizes grow more slowly than the paper, so a larger paper gives labels more room.
TEXT_SIZES: dict[str, TextSizes] = {
    "A4": TextSizes(building_mm=6.0, unit_mm=4.0, gate_mm=4.0, title_mm=8.0, heading_mm=3.6, body_mm=2.8, small_mm=2.2),
    "A3": TextSizes(
        building_mm=8.0, unit_mm=4.5, gate_mm=4.5, title_mm=11.0, heading_mm=5.0, body_mm=3.5, small_mm=2.6
    ),
    "A2": TextSizes(
        building_mm=10.0, unit_mm=5.0, gate_mm=5.0, title_mm=15.0, heading_mm=6.0, body_mm=4.0, small_mm=3.0
    ),
    "A1": TextSizes(
        building_mm=12.0, unit_mm=6.0, gate_mm=6.0, title_mm=20.0, heading_mm=7.5, body_mm=5.0, small_mm=3.6
    ),
    "A0": TextSizes(
        building_mm=15.0, unit_mm=7.5, gate_mm=7.5, title_mm=26.0, heading_mm=9.5, body_mm=6.5, small_mm=4.4
    ),
}

#: Symbol sizes, line widths and spacings are given for A2 and multiplied by this.
PAPER_FACTOR: dict[str, float] = {"A4": 0.6, "A3": 0.8, "A2": 1.0, "A1": 1.25, "A0": 1.6}


@dataclass(frozen=True)
class Marker:
    """A point symbol: a matplotlib marker code, its size and colours."""

    marker: str
    size_mm: float
    face: str
    edge: str = "#000000"
    edge_mm: float = 0.35
    fillstyle: str = "full"
    alt_face: str = "#ffffff"


@dataclass(frozen=True)
class Line:
    """A line symbol; ``dashes_mm`` is an on/off pattern, ``()`` for solid."""

    color: str
    width_mm: float
    dashes_mm: tuple[float, ...] = ()
    casing: str = ""
    casing_mm: float = 0.0


@dataclass(frozen=True)
class Area:
    """A filled area with an outline."""

    face: str
    edge: str
    edge_mm: float


@dataclass(frozen=True)
class TextBox:
    """Text colour on an opaque box: the pair whose contrast must be >= 7:1."""

    ink: str
    face: str
    edge: str
    edge_mm: float
    pad_mm: float


# Okabe-Ito palette
_ORANGE, _SKY, _GREEN, _YELLOW, _BLUE, _VERMILLION, _PURPLE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)


def _facilities() -> dict[str, Marker]:
    return {
        "charger": Marker("^", 5.5, _ORANGE),
        "battery_swap": Marker("v", 5.5, _VERMILLION),
        "rider_parking": Marker("s", 5.0, _BLUE),
        "parcel_locker": Marker("D", 4.8, _PURPLE),
        "toilet": Marker("h", 5.5, _SKY),
        "rider_station": Marker("*", 7.0, _GREEN),
        "drinking_water": Marker("d", 5.5, _SKY),
        "transfer_bicycle": Marker("P", 5.5, _YELLOW),
    }


def _gates() -> dict[str, Marker]:
    return {
        "ride": Marker("o", 6.0, _GREEN, edge_mm=0.5),
        "walk": Marker("o", 6.0, _ORANGE, edge_mm=0.5, fillstyle="top"),
        "none": Marker("X", 6.5, _VERMILLION, edge_mm=0.4),
        # inferred or of unknown rule (待核实): a hollow grey ring, unlike every confirmed gate
        "unknown": Marker("o", 6.0, "none", edge="#4d4d4d", edge_mm=0.7, fillstyle="none"),
    }


@dataclass(frozen=True)
class PosterStyle:
    """Everything visual about a poster. Sizes are for A2 unless the name says otherwise."""

    paper_face: str = "#ffffff"
    ink: str = "#000000"
    header: TextBox = TextBox(ink="#ffffff", face="#1d3557", edge="#1d3557", edge_mm=0.0, pad_mm=0.0)
    compound: Area = Area(face="#f3efe4", edge="#000000", edge_mm=1.0)
    building: Area = Area(face="#c9c9c9", edge="#333333", edge_mm=0.35)
    street: Line = Line("#bdbdbd", 2.6)
    street_footway: Line = Line("#8c8c8c", 0.5, dashes_mm=(1.5, 1.0))
    rideable: Line = Line(_BLUE, 1.5, casing="#ffffff", casing_mm=0.5)
    walk_only: Line = Line("#4d4d4d", 0.6, dashes_mm=(2.0, 1.2))
    grid: Line = Line("#8c8c8c", 0.2)
    facilities: dict[str, Marker] = field(default_factory=_facilities)
    gates: dict[str, Marker] = field(default_factory=_gates)
    unit_door: Marker = Marker("o", 2.2, "#000000", edge="#ffffff", edge_mm=0.3)
    here: Marker = Marker("o", 9.0, "#ffffff", edge=_VERMILLION, edge_mm=1.6)
    here_dot: Marker = Marker("o", 3.0, _VERMILLION, edge=_VERMILLION, edge_mm=0.1)
    #: a junction sign post of the signage plan (the optional sign layer), its id written on it
    sign_post: Marker = Marker("o", 7.5, "#0d47a1", edge="#ffffff", edge_mm=0.5)
    leader: Line = Line("#000000", 0.3)
    building_label: TextBox = TextBox(ink="#000000", face="#ffffff", edge="#ffffff", edge_mm=0.0, pad_mm=0.8)
    unit_label: TextBox = TextBox(ink="#000000", face="#ffffff", edge="#000000", edge_mm=0.35, pad_mm=0.6)
    gate_label: TextBox = TextBox(ink="#000000", face="#ffffff", edge="#000000", edge_mm=0.5, pad_mm=1.0)
    #: labels of inferred / unconfirmed things (待核实): grey ink, grey frame
    unconfirmed_label: TextBox = TextBox(ink="#4d4d4d", face="#ffffff", edge="#8c8c8c", edge_mm=0.5, pad_mm=1.0)
    here_label: TextBox = TextBox(ink="#ffffff", face="#1d3557", edge="#1d3557", edge_mm=0.0, pad_mm=1.2)
    #: numbered callouts (①) of labels with no room on the map, listed beside it
    callout_label: TextBox = TextBox(ink="#ffffff", face="#1d3557", edge="#1d3557", edge_mm=0.0, pad_mm=0.5)
    #: callouts of inferred numbers or gates (待核实): grey, the same size as other callouts
    unconfirmed_callout: TextBox = TextBox(ink="#4d4d4d", face="#ffffff", edge="#8c8c8c", edge_mm=0.25, pad_mm=0.25)
    panel_text: TextBox = TextBox(ink="#000000", face="#ffffff", edge="#ffffff", edge_mm=0.0, pad_mm=0.0)
    margin_mm: float = 12.0
    gap_mm: float = 6.0
    #: clear space kept around every map label, on paper
    label_gap_mm: float = 0.6
    grid_square_mm: float = 40.0
    qr_size_mm: float = 62.0
    #: unit door / gate / building label candidates go this far out (then leader lines)
    label_reach_mm: float = 30.0
    #: a label with no room within label_reach_mm may go this far out with a leader line
    far_reach_mm: float = 70.0

    def text_boxes(self) -> dict[str, TextBox]:
        """Every (text, background) pair the poster prints, by name."""
        return {
            "header": self.header,
            "building_label": self.building_label,
            "unit_label": self.unit_label,
            "gate_label": self.gate_label,
            "here_label": self.here_label,
            "panel_text": self.panel_text,
            "unconfirmed_label": self.unconfirmed_label,
            "callout_label": self.callout_label,
            "unconfirmed_callout": self.unconfirmed_callout,
        }


DEFAULT_STYLE = PosterStyle()


#: Words on the poster, per language.
#: the poster's interface strings by language (from the catalogue, :mod:`ridermap.i18n`, space ``poster``)
STRINGS: dict[str, Mapping[str, Any]] = {lang: i18n.words("poster", lang) for lang in i18n.LANGUAGES}

OSM_ATTRIBUTION = "© OpenStreetMap contributors"


def _luminance(color: str) -> float:
    from matplotlib.colors import to_rgb

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21).

    >>> round(contrast_ratio("#000000", "#ffffff"), 1)
    21.0
    """
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
