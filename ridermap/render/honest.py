"""Honest wording for every output: 待核实 for what ridermap inferred, rules only from data, the draft band.

Posters, doorplates, the rider site and the gap maps all take their words
for unknown, inferred and missing things from here, so they say the same:

- a rider rule comes only from data: ``ride`` / ``walk`` / ``none`` get their
  label; ``unknown`` or an empty / unknown value is 待核实 ("to be
  confirmed"), never a default "可骑行进入";
- an inferred name, gate or rule carries 待核实;
- a compound without a real name is titled 未命名小区（待核实）, never by its
  OSM id (``小区 w123`` as an older reader wrote it is treated the same);
- outputs built from unconfirmed data carry the "草图 / DRAFT" band
  (:func:`draft_band`, see :func:`ridermap.model.confirmed.needs_draft`).

Nothing here touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ridermap import i18n
from ridermap.model.confirmed import UNKNOWN, gate_confirmed, is_inferred
from ridermap.numbers import chinese_to_int

__all__ = [
    "words",
    "access_label",
    "known_access",
    "mark_unconfirmed",
    "compound_title",
    "gate_title",
    "is_placeholder_name",
    "survey_key_of",
    "gate_names",
    "english_name",
    "english_labels",
    "display_name",
    "draft_band",
]

#: side words of generated names -> ``side.*`` message names
_SIDE_KEYS = {
    "东": "east",
    "东北": "northeast",
    "北": "north",
    "西北": "northwest",
    "西": "west",
    "西南": "southwest",
    "南": "south",
    "东南": "southeast",
}
#: the placeholder names older readers gave compounds without a name (``小区 w123``)
_PLACEHOLDER = re.compile(r"^(小区|compound)\s*[nwr]?\d+$", re.IGNORECASE)


def words(lang: str) -> Mapping[str, str]:
    """The words of ``lang`` (Chinese for anything but ``en``): the ``honest`` space of :mod:`ridermap.i18n`."""
    return i18n.words("honest", lang)


def known_access(value) -> str:
    """The rider rule as data gives it: ``ride``, ``walk``, ``none``; anything else is ``unknown``."""
    value = str(value or "").strip()
    return value if value in ("ride", "walk", "none") else UNKNOWN


def access_label(value, lang: str) -> str:
    """Label of a rider rule; ``unknown``, empty or unrecognised values give 待核实 / To be confirmed.

    >>> access_label("", "zh"), access_label("walk", "en")
    ('待核实', 'Park and walk in')
    """
    return i18n.t(f"access.{known_access(value)}", lang)


def mark_unconfirmed(text: str, lang: str) -> str:
    """``text`` followed by （待核实） / (to be confirmed)."""
    return f"{text}{words(lang)['mark']}"


def is_placeholder_name(name) -> bool:
    """Whether ``name`` is empty or an id standing in for a name (``小区 w123``)."""
    name = str(name or "").strip()
    return not name or bool(_PLACEHOLDER.match(name))


def compound_title(name, inferred, lang: str, name_en: object = "") -> tuple[str, bool]:
    """The title of a compound and whether it is unconfirmed.

    Never the OSM id: a compound without a real name is 未命名小区（待核实）;
    an inferred name carries （待核实）. In English, ``name_en`` (the data's
    English name or transliteration) is shown when given.

    >>> compound_title("小区 w123", "", "zh")
    ('未命名小区（待核实）', True)
    >>> compound_title("学士居", "name", "zh")
    ('学士居（待核实）', True)
    >>> compound_title("学士居", "", "zh")
    ('学士居', False)
    >>> compound_title("学士居", "", "en", "Xueshi Ju")
    ('Xueshi Ju', False)
    """
    english = str(name_en or "").strip()
    if lang == "en" and english:
        return (mark_unconfirmed(english, lang), True) if is_inferred(inferred, "name") else (english, False)
    if is_placeholder_name(name):
        return mark_unconfirmed(words(lang)["unnamed"], lang), True
    name = str(name).strip()
    if is_inferred(inferred, "name"):
        return mark_unconfirmed(_english_compound(name) if lang == "en" else name, lang), True
    return name, False


_GENERIC_GATE = re.compile(r"^(东北|东南|西北|西南|东|南|西|北)(侧)?(大门|门|出入口|入口)\s*(\d*)$")
_NUMBERED_GATE = re.compile(r"^(\d+)\s*号\s*(门|大门|出入口)$")
_GENERIC_BUILDING = re.compile(r"^(\d+[A-Za-z]?|[零〇一二两三四五六七八九十百]+)\s*(号楼|号|栋|幢|座|楼)$")
_GENERIC_UNIT = re.compile(r"^(\d+[A-Za-z]?|[零〇一二两三四五六七八九十]+)\s*单元$")


_INFERRED_COMPOUND = re.compile(r"^(.+?)(内|旁)小区(\d*)$")


def _english_compound(name: str) -> str:
    """The English of a compound name ridermap inferred (``学院路旁小区2`` -> ``Compound by 学院路 2``).

    >>> _english_compound("学院路旁小区2"), _english_compound("中国农业大学东校区内小区"), _english_compound("学士居")
    ('Compound by 学院路 2', 'Compound in 中国农业大学东校区', '学士居')
    """
    m = _INFERRED_COMPOUND.match(name)
    if not m:
        return name
    key = "gen.compound_in" if m.group(2) == "内" else "gen.compound_by"
    return i18n.t(key, "en", place=m.group(1), n=f" {m.group(3)}" if m.group(3) else "")


def english_name(name, kind: str) -> str:
    """The English of a name made of a side or a number and a generic word (南门, 南侧出入口2, 3号门, 7号楼,
    2单元); any other name is returned as written (names from data stay as they are).

    ``kind`` is ``gate``, ``building`` or ``unit``.

    >>> english_name("南门", "gate"), english_name("东南侧出入口2", "gate"), english_name("3号门", "gate")
    ('South gate', 'South-east gate 2', 'Gate 3')
    >>> english_name("7号楼", "building"), english_name("2单元", "unit"), english_name("锦华苑东门", "gate")
    ('Building 7', 'Unit 2', '锦华苑东门')
    >>> english_name("十二栋", "building"), english_name("家属27号楼", "building")
    ('Building 12', '家属27号楼')
    """
    text = str(name or "").strip()
    if kind == "gate":
        m = _GENERIC_GATE.match(text)
        if m:
            side = i18n.t(f"side.{_SIDE_KEYS[m.group(1)]}", "en")
            n = f" {m.group(4)}" if m.group(4) else ""
            return i18n.t("gen.main_gate" if m.group(3) == "大门" else "gen.side_gate", "en", side=side, n=n)
        m = _NUMBERED_GATE.match(text)
        return i18n.t("gen.numbered_gate", "en", n=m.group(1)) if m else text
    pattern, key = (_GENERIC_BUILDING, "gen.building") if kind == "building" else (_GENERIC_UNIT, "gen.unit")
    m = pattern.match(text)
    if not m:
        return text
    digits = m.group(1) if m.group(1)[0].isascii() else chinese_to_int(m.group(1).replace("两", "二"))
    return i18n.t(key, "en", n=digits) if digits is not None else text


def english_labels(view):
    """``view`` (a :class:`~ridermap.model.bundle.Bundle`) with building and unit labels in English where
    they are generic (``7号楼`` -> ``Building 7``): for posters in English."""
    b, u = view.buildings, view.units
    return view.replace(
        buildings=b.assign(label=[english_name(x, "building") if x else x for x in b["label"].astype(str)]),
        units=u.assign(label=[english_name(x, "unit") if x else x for x in u["label"].astype(str)]),
    )


def display_name(name, kind: str, lang: str, name_en: object = "") -> str:
    """A name as pages, posters and plates of ``lang`` show it: in English the data's ``name_en`` if given,
    else :func:`english_name`; else as written.

    >>> display_name("南门", "gate", "en"), display_name("学知门", "gate", "en", "Xuezhi Gate")
    ('South gate', 'Xuezhi Gate')
    """
    if lang != "en":
        return str(name or "").strip()
    return str(name_en or "").strip() or english_name(name, kind)


def gate_title(
    name, *, inferred, rider_access, survey_key: str = "", lang: str, fallback: str = "", name_en: object = ""
) -> tuple[str, bool]:
    """A gate's display name and whether the gate is unconfirmed (inferred or of unknown rule).

    An unnamed gate is called by its survey key (``出入口 G3``) or ``fallback``;
    an unconfirmed gate's name carries （待核实）.
    """
    name = display_name(name, "gate", lang, name_en)
    if not name:
        word = "出入口" if lang != "en" else "Gate"
        key = str(survey_key or "").strip() or fallback
        name = f"{word} {key}".strip()
    unconfirmed = not gate_confirmed(inferred=inferred, rider_access=known_access(rider_access))
    return (mark_unconfirmed(name, lang) if unconfirmed else name), unconfirmed


def survey_key_of(key: object, feature_id: str) -> str:
    """The key that tells an unnumbered feature apart: its survey key (``B07``), else its OSM id (``w154079723``).

    >>> survey_key_of("B07", "110108-b_w1"), survey_key_of("", "110108-b_w154079723"), survey_key_of("", "c-b7-u_n5")
    ('B07', 'w154079723', 'n5')
    """
    key = str(key or "").strip()
    if key:
        return key
    tail = str(feature_id).rsplit("-", 1)[-1]
    return tail.split("_", 1)[1] if "_" in tail else tail


def gate_names(gates, lang: str) -> dict[str, str]:
    """``{gate id: display name}``: names as in data, unnamed gates by survey key, 待核实 on unconfirmed gates."""
    return {
        str(r["id"]): gate_title(
            r["name"],
            inferred=r["inferred"],
            rider_access=r["rider_access"],
            survey_key=r["survey_key"],
            lang=lang,
            fallback=survey_key_of("", str(r["id"])),
            name_en=r.get("name_en", ""),
        )[0]
        for _, r in gates.iterrows()
    }


def draft_band(
    fig, *, family: str, lang: str, box: tuple[float, float, float, float] | None = None, gid: str = "draft"
) -> list:
    """Lay the "草图 / DRAFT" band diagonally across a matplotlib Figure (or a part of it).

    A translucent band with the words, drawn above everything, so the page
    stays readable but cannot pass for a final print.

    Parameters
    ----------
    fig
        The Figure.
    family
        Font family (the CJK font).
    lang
        ``zh`` or ``en``.
    box
        ``(x0, y0, x1, y1)`` in figure fractions the band crosses corner to
        corner (default: the whole page). Posters and gap maps pass their
        map frame, so legends and QR codes stay clear.

    Returns
    -------
    list
        The artists added (their ``gid`` is ``gid``).
    """
    import math

    x0, y0, x1, y1 = box or (0.0, 0.0, 1.0, 1.0)
    w_in, h_in = fig.get_size_inches()
    bw, bh = (x1 - x0) * w_in, (y1 - y0) * h_in
    angle = math.degrees(math.atan2(bh, bw))
    text = f"{words(lang)['draft']} · {words(lang)['draft_note']}"
    # about 70 % of the diagonal: CJK characters are 1 em wide, capitals about 0.6 em, the rest about 0.45 em
    em = sum(1.0 if ord(ch) > 0x2E80 else 0.62 if (ch.isupper() or ch.isdigit()) else 0.45 for ch in text)
    size = 0.7 * math.hypot(bw, bh) * 72.0 / em
    artist = fig.text(
        (x0 + x1) / 2,
        (y0 + y1) / 2,
        text,
        rotation=angle,
        rotation_mode="anchor",
        ha="center",
        va="center",
        fontsize=size,
        fontfamily=family,
        color="#b71c1c",
        alpha=0.6,
        zorder=1000,
        gid=gid,
        bbox={
            "boxstyle": "square,pad=0.5",
            "facecolor": "#fff59d",
            "edgecolor": "#b71c1c",
            "alpha": 0.3,
            "linewidth": 2,
        },
    )
    return [artist]
