"""Stable, hierarchical, URL- and file-name-safe identifiers.

Following GB/T 39609-2020's hierarchy (domain.md §4)::

    <admin code>-<compound>             510104-jjhy
    <compound id>-b<building number>    510104-jjhy-b7
    <building id>-u<unit number>        510104-jjhy-b7-u2
    <compound id>-g<gate key>           510104-jjhy-gs  (south gate)
    f-<kind>-<key>                      f-charger-n123456

Every part is reduced to ``[A-Za-z0-9_.]``; everything else becomes ``_``
(non-ASCII is hex-coded so ``三`` and ``四`` stay distinct).
"""

from __future__ import annotations

import re

_SAFE = re.compile(r"[^A-Za-z0-9_.]")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def slug(text: object) -> str:
    """Reduce ``text`` to a safe id part (ASCII letters, digits, ``_`` and ``.``).

    >>> slug("B3")
    'B3'
    >>> slug("A/1")
    'A_1'
    >>> slug("东")
    'x4e1c'
    """
    out = []
    for ch in str(text).strip():
        if ch.isascii():
            out.append(_SAFE.sub("_", ch))
        else:
            out.append(f"x{ord(ch):x}")
    part = "".join(out).strip("_.")
    return part or "_"


def is_safe_id(value: str) -> bool:
    """True if ``value`` can be used as it is in a file name and a URL path."""
    return bool(ID_PATTERN.match(value)) and ".." not in value


def sanitize_id(value: object) -> str:
    """Make a user-given id safe: keep ``-`` between parts, slug each part."""
    parts = [slug(p) for p in str(value).split("-") if p.strip()]
    return "-".join(parts)[:128] or "_"


def community_id(admin_code: str, key: object) -> str:
    return f"{slug(admin_code)}-{slug(key)}" if admin_code else slug(key)


def building_id(community: str, number: str, *, fallback: object = "") -> str:
    return f"{community}-b{slug(number)}" if number else f"{community}-b_{slug(fallback)}"


def unit_id(building: str, number: str, *, fallback: object = "") -> str:
    return f"{building}-u{slug(number)}" if number else f"{building}-u_{slug(fallback)}"


def gate_id(community: str, key: object) -> str:
    return f"{community}-g{slug(key)}"


def facility_id(kind: str, key: object) -> str:
    return f"f-{slug(kind)}-{slug(key)}"


def osm_key(osm_type: str, osm_id: int) -> str:
    """``('way', 123)`` -> ``'w123'``: short and stable across runs."""
    return f"{osm_type[0]}{osm_id}"
