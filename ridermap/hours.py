"""OSM ``opening_hours``: the common subset ridermap understands, with errors that say where.

A pure parser (base floor: it imports only :mod:`ridermap.i18n`): validation
checks survey and OSM hours with :func:`check_hours`; routing and pages turn
them into weekly schedules with :func:`parse_hours`; every output that prints
hours (pages, posters, plates) words them with :func:`hours_text`.

Supported: ``24/7``; rules separated by ``;`` (or ``||``) with an optional
weekday selector (``Mo-Fr``, ``Sa,Su``, ``Mo-We,Fr``) and comma-separated time
spans (``07:00-09:00,17:00-19:30``; ``24:00`` ends the day; spans past
midnight continue on the next day) or ``off``. Valid OSM syntax outside that
subset (public holidays, months, sunrise...) is *unsupported*, not invalid.
"""

from __future__ import annotations

import re

from ridermap import i18n

__all__ = [
    "Schedule",
    "HoursError",
    "parse_hours",
    "parse_hours_strict",
    "check_hours",
    "hours_apply",
    "format_schedule",
    "hours_text",
]

#: Minutes of the day, per weekday (Monday first): ``((start, end), ...)``.
Schedule = tuple[tuple[tuple[int, int], ...], ...]

_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DAY_TOKEN = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")
_WORDS = re.compile(r"^([A-Za-z]+)(?:-([A-Za-z]+))?$")
_RULE_SEP = re.compile(r";|\|\|")
#: valid OSM words outside the subset (holidays, months, weeks, events)
_UNSUPPORTED_WORDS = {
    "PH",
    "SH",
    "week",
    "easter",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
}
_UNSUPPORTED_TIME = re.compile(r"sunrise|sunset|dawn|dusk|\+$|/|\(|\"|\[")


class HoursError(ValueError):
    """``opening_hours`` text that cannot be parsed, with where it fails.

    Attributes
    ----------
    text, position, token
        The whole value, the 0-based offset of the failing part, and that part.
    reason_en, reason_zh
        What is wrong, in English and Chinese.
    unsupported
        True when the text is valid OSM syntax outside ridermap's subset.
    """

    def __init__(
        self, text: str, position: int, token: str, reason_en: str, reason_zh: str, *, unsupported: bool = False
    ) -> None:
        super().__init__(f"{token!r} (character {position + 1}): {reason_en}")
        self.text, self.position, self.token = text, position, token
        self.reason_en, self.reason_zh, self.unsupported = reason_en, reason_zh, unsupported

    @property
    def message_en(self) -> str:
        return f"{self.token!r} (character {self.position + 1}): {self.reason_en}"

    @property
    def message_zh(self) -> str:
        return f"“{self.token}”（第 {self.position + 1} 个字符）：{self.reason_zh}"


def parse_hours(text: str) -> Schedule | None:
    """Parse the common subset of OSM ``opening_hours`` into a weekly schedule.

    A later rule replaces an earlier one for the days it names, as in OSM.

    Parameters
    ----------
    text
        The ``hours`` value of a gate or compound.

    Returns
    -------
    Schedule or None
        Seven tuples (Monday..Sunday) of ``(start_min, end_min)``; ``None``
        when ``text`` is empty, invalid or uses syntax outside the subset
        (public holidays, months, sunrise...).

    Examples
    --------
    >>> parse_hours("Mo-Fr 07:00-09:00; Sa,Su off")[0]
    ((420, 540),)
    >>> parse_hours("Mo-Fr 07:00-09:00; Sa,Su off")[6]
    ()
    >>> parse_hours("22:00-06:00")[1]
    ((0, 360), (1320, 1440))
    >>> parse_hours("PH off") is None
    True
    """
    try:
        return parse_hours_strict(text)
    except HoursError:
        return None


def check_hours(text: str) -> HoursError | None:
    """The first problem of ``text`` as an :class:`HoursError`, or ``None`` if it parses.

    >>> check_hours("Mo-Xx 25:00-99:00").message_en
    "'Xx' (character 4): unknown day 'Xx' (use Mo Tu We Th Fr Sa Su)"
    >>> check_hours("Mo-Fr 25:00-26:00").reason_en
    'hour 25 is out of range (0-24)'
    >>> check_hours("PH off").unsupported, check_hours("Mo-Fr 07:00-09:00") is None
    (True, True)
    """
    try:
        parse_hours_strict(text)
    except HoursError as exc:
        return exc
    return None


def parse_hours_strict(text: str) -> Schedule | None:
    """Like :func:`parse_hours` but raise :class:`HoursError` saying where parsing fails.

    Returns ``None`` only for empty text.
    """
    text = text if isinstance(text, str) else ("" if text is None else str(text))
    if not text.strip():
        return None
    if text.strip() == "24/7":
        return tuple(((0, 1440),) for _ in _DAYS)
    days: list[list[tuple[int, int]]] = [[] for _ in _DAYS]
    for start, rule in _rules(text):
        if not rule.strip():
            continue
        offset = start + len(rule) - len(rule.lstrip())
        selected, spans = _parse_rule(text, rule.strip(), offset)
        own: dict[int, list[tuple[int, int]]] = {d: [] for d in selected}
        spill: dict[int, list[tuple[int, int]]] = {}
        for d in selected:
            for off, start, end in spans:
                target = (d + off) % 7
                (own if off == 0 else spill).setdefault(target, []).append((start, end))
        for d in selected:
            days[d] = list(own[d])
        for d, extra in spill.items():
            days[d] = days[d] + extra
    return tuple(tuple(sorted(set(day))) for day in days)


def _rules(text: str) -> list[tuple[int, str]]:
    """``(offset, rule)`` for the rules of ``text`` (separated by ``;`` or ``||``)."""
    out, start = [], 0
    for sep in _RULE_SEP.finditer(text):
        out.append((start, text[start : sep.start()]))
        start = sep.end()
    return out + [(start, text[start:])]


def _parse_rule(text: str, rule: str, offset: int) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Days and ``(day offset, start, end)`` spans of one rule starting at ``offset``."""
    head, sep, rest = rule.partition(" ")
    selected = _selector(text, head, offset)
    if selected is None:
        selected, rest, rest_at = list(range(7)), rule, offset
    else:
        rest_at = offset + len(head) + len(sep) + (len(rest) - len(rest.lstrip()))
        if not rest.strip():
            raise HoursError(
                text,
                offset,
                head,
                "a time span or 'off' must follow the days",
                "星期后缺少时段（如 07:00-09:00）或 off",
            )
    rest = rest.strip()
    if rest in ("off", "closed"):
        return selected, []
    if rest in ("24/7", "00:00-24:00"):
        return selected, [(0, 0, 1440)]
    spans: list[tuple[int, int, int]] = []
    at = rest_at
    for part in rest.split(","):
        lead = len(part) - len(part.lstrip())
        spans += _span(text, part.strip(), at + lead)
        at += len(part) + 1
    return selected, spans


def _selector(text: str, head: str, offset: int) -> list[int] | None:
    """Weekdays of a selector like ``Mo-Fr,Su``; None when ``head`` is not a selector."""
    if not head or head[0].isdigit() or head in ("off", "closed", "24/7"):
        return None
    out: list[int] = []
    at = offset
    for part in head.split(","):
        m = _DAY_TOKEN.match(part)
        if m:
            a = _DAYS.index(m.group(1))
            b = _DAYS.index(m.group(2)) if m.group(2) else a
            out += list(range(a, b + 1)) if a <= b else list(range(a, 7)) + list(range(0, b + 1))
            at += len(part) + 1
            continue
        words = _WORDS.match(part)
        for i, word in enumerate(words.groups() if words else (part,)):
            if word is None or word in _DAYS:
                continue
            pos = at + (0 if i == 0 else part.index("-") + 1)
            if word in _UNSUPPORTED_WORDS or "[" in part:
                raise HoursError(
                    text,
                    pos,
                    word,
                    "valid OSM syntax that ridermap does not support (holidays, months, weeks); "
                    "pages show the text as written",
                    "ridermap 不支持的写法（节假日、月份、周次），页面按原文显示",
                    unsupported=True,
                )
            if words and len(word) == 2:
                raise HoursError(
                    text,
                    pos,
                    word,
                    f"unknown day {word!r} (use Mo Tu We Th Fr Sa Su)",
                    f"未知的星期“{word}”（应为 Mo Tu We Th Fr Sa Su）",
                )
            raise HoursError(
                text,
                at,
                part,
                "not a day selector (use Mo-Fr, Sa,Su ...) nor a time span",
                "既不是星期（如 Mo-Fr、Sa,Su）也不是时段",
            )
    return out


def _span(text: str, part: str, at: int) -> list[tuple[int, int, int]]:
    """``(day offset, start, end)`` of one ``HH:MM-HH:MM`` span starting at ``at``."""
    m = _TIME.match(part)
    if not m:
        if _UNSUPPORTED_TIME.search(part):
            raise HoursError(
                text,
                at,
                part,
                "valid OSM syntax that ridermap does not support (sunrise, open end, intervals); "
                "pages show the text as written",
                "ridermap 不支持的写法（日出日落、无结束时间、间隔），页面按原文显示",
                unsupported=True,
            )
        raise HoursError(
            text,
            at,
            part or "(empty)",
            "not a time span (write it like 07:00-09:00)",
            "不是时段（应写成 07:00-09:00 这样）",
        )
    h0, m0, h1, m1 = (int(g) for g in m.groups())
    for hour, minute, pos in ((h0, m0, m.start(1)), (h1, m1, m.start(3))):
        if hour > 24 or (hour == 24 and minute > 0):
            raise HoursError(
                text,
                at + pos,
                part[pos : pos + 5].split("-")[0],
                f"hour {hour} is out of range (0-24)",
                f"小时 {hour} 超出范围（0–24）",
            )
        if minute > 59:
            raise HoursError(
                text,
                at + pos,
                part[pos : pos + 5].split("-")[0],
                f"minute {minute} is out of range (00-59)",
                f"分钟 {minute} 超出范围（00–59）",
            )
    start, end = h0 * 60 + m0, h1 * 60 + m1
    if end > start:
        return [(0, start, end)]
    if end < start:  # past midnight
        return [(0, start, 1440)] + ([(1, 0, end)] if end > 0 else [])
    return []


def hours_apply(schedule: Schedule, weekday: int, minute: int) -> bool:
    """Whether ``schedule`` covers ``minute`` (0..1439) of ``weekday`` (0 = Monday).

    >>> hours_apply(parse_hours("Mo-Fr 07:00-09:00"), 0, 480)
    True
    >>> hours_apply(parse_hours("Mo-Fr 07:00-09:00"), 5, 480)
    False
    """
    return any(start <= minute < end for start, end in schedule[weekday])


def format_schedule(schedule: Schedule, *, lang: str) -> str:
    """Readable weekly hours: ``每天 07:00–09:00、17:00–19:00``.

    >>> format_schedule(parse_hours("Mo-Fr 07:00-09:00"), lang="zh")
    '周一至周五 07:00–09:00；周六至周日 不适用'
    >>> format_schedule(parse_hours("Mo-Su 00:00-11:00,19:30-24:00"), lang="en")
    'Daily 00:00–11:00, 19:30–24:00'
    """
    words = i18n.words("days", lang)
    names = words["week"]

    def spans(day) -> str:
        text = words["hours_sep"].join(f"{a // 60:02d}:{a % 60:02d}–{b // 60:02d}:{b % 60:02d}" for a, b in day)
        return text or words["not_in_force"]

    if all(day == schedule[0] for day in schedule):
        return i18n.t("days.every_day", lang, hours=spans(schedule[0]))
    groups: list[tuple[int, int]] = []
    for d in range(7):
        if groups and schedule[d] == schedule[groups[-1][0]] and groups[-1][1] == d - 1:
            groups[-1] = (groups[-1][0], d)
        else:
            groups.append((d, d))
    parts = []
    for a, b in groups:
        days = names[a] if a == b else i18n.t("days.span", lang, first=names[a], last=names[b])
        parts.append(f"{days} {spans(schedule[a])}")
    return words["group_sep"].join(parts)


def hours_text(hours: object, *, lang: str = "zh") -> str:
    """Readable hours of a rule for any output (``每天 00:00–11:00``, ``Daily 00:00–11:00``); the raw
    text when it cannot be read (it is still what the data say), ``""`` when there is none.

    >>> hours_text("Mo-Su 00:00-11:00", lang="zh"), hours_text("sunrise-sunset", lang="en"), hours_text("")
    ('每天 00:00–11:00', 'sunrise-sunset', '')
    """
    raw = str(hours or "").strip()
    if not raw:
        return ""
    schedule = parse_hours(raw)
    return format_schedule(schedule, lang=lang) if schedule is not None else raw
