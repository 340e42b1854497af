"""Parse building and unit numbers as written on Chinese signs.

``7号楼`` -> ``7``; ``家属27号楼`` -> ``27``; ``三号楼`` -> ``3``; ``十二栋`` ->
``12``; ``B3座`` -> ``B3``; ``2单元`` / ``一单元`` -> ``2`` / ``1``; a bare ``ref``
like ``3`` -> ``3``. Unit doors are also lettered (``A``, ``B``, ``A座``),
numbered with the heavenly stems (``甲``, ``乙``, ``丙``), named by side
(``东单元``) or by floor and door (``1-2``): these are unit numbers as well.
The label as written is always kept beside the number.
"""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两三四五六七八九十百千"
_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ－",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-",
)

_BUILDING_SUFFIX = "号楼|号|栋|幢|座|楼|#"
_UNIT_SUFFIX = "单元|门|号|座"
# letters (optional) + arabic or Chinese numerals (+ optional -n), before a suffix
_NUM = rf"([A-Za-z]{{0,2}}\d+(?:-\d+)?[A-Za-z]?|[{_CN}]+)"
_BUILDING_RE = re.compile(rf"{_NUM}\s*(?:{_BUILDING_SUFFIX})")
_UNIT_RE = re.compile(rf"{_NUM}\s*(?:{_UNIT_SUFFIX})")
_BARE_RE = re.compile(rf"^\s*{_NUM}\s*$")
#: heavenly stems, used like A, B, C for units and wings (甲单元, 乙座)
_STEMS = "甲乙丙丁戊己庚辛壬癸"
_UNIT_WORD_SUFFIX = "单元|座|门|号"
# a unit named by letters or a stem alone (``A``, ``甲``) or with a suffix (``A座``, ``乙单元``)
_UNIT_WORD_RE = re.compile(rf"^\s*([A-Za-z]{{1,2}}|[{_STEMS}])\s*(?:{_UNIT_WORD_SUFFIX})?\s*$")
# a unit named by its side: ``东单元`` (but ``东门`` is a gate, not a unit)
_UNIT_SIDE_RE = re.compile(r"^\s*([东西南北中])\s*单元\s*$")


def chinese_to_int(text: str) -> int | None:
    """Convert Chinese numerals (``十二``, ``二十一``, ``一百零五``) to an int.

    >>> chinese_to_int("十二"), chinese_to_int("二十一"), chinese_to_int("一百零五")
    (12, 21, 105)
    """
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    if all(ch in _DIGITS for ch in text):  # 一二 -> 12 (digit by digit)
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def _normalise(raw: str) -> str:
    if raw and raw[0] in _CN:
        value = chinese_to_int(raw)
        return "" if value is None else str(value)
    raw = raw.upper()
    m = re.fullmatch(r"([A-Z]*)0*(\d+)(.*)", raw)
    return f"{m.group(1)}{m.group(2)}{m.group(3)}" if m else raw


def _parse(text: object, pattern: re.Pattern) -> str:
    if text is None:
        return ""
    s = str(text).translate(_FULLWIDTH).strip()
    if not s or s.lower() == "nan":
        return ""
    m = _BARE_RE.match(s) or pattern.search(s)
    return _normalise(m.group(1)) if m else ""


def parse_building_number(text: object) -> str:
    """Normalised building number from a name, or ``""`` if there is none.

    >>> [parse_building_number(s) for s in ["7号楼", "家属27号楼", "三号楼", "十二栋", "B3座", "12", "食堂"]]
    ['7', '27', '3', '12', 'B3', '12', '']
    """
    return _parse(text, _BUILDING_RE)


def parse_unit_number(text: object) -> str:
    """Normalised unit number from a label or ``ref``, or ``""``.

    >>> [parse_unit_number(s) for s in ["2单元", "一单元", "3", "02", "东门"]]
    ['2', '1', '3', '2', '']
    >>> [parse_unit_number(s) for s in ["A", "b", "甲", "乙单元", "A座", "东单元", "1-2", "B3座", "大堂"]]
    ['A', 'B', '甲', '乙', 'A', '东', '1-2', 'B3', '']
    """
    number = _parse(text, _UNIT_RE)
    if number or text is None:
        return number
    s = str(text).translate(_FULLWIDTH)
    m = _UNIT_WORD_RE.match(s) or _UNIT_SIDE_RE.match(s)
    return m.group(1).upper() if m else ""
