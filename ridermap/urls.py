"""The rider site's URL scheme: one place, used by site, posters and plates.

Site-relative paths (also valid from ``file://``)::

    index.html                         compound index + district care map
    c/<community_id>.html              compound page
    c/<community_id>.html#b=<id>       building focus   (building doorplates)
    c/<community_id>.html#g=<id>       gate focus       (gate doorplates, posters)
    u/<unit_id>.html                   unit deep link   (unit doorplates)

Absolute URLs are ``base_url`` + the relative path. IDs are already safe
(:mod:`ridermap.ids`); they are checked again here.
"""

from __future__ import annotations

from ridermap.errors import ValidationError
from ridermap.ids import is_safe_id


def _check(value: str) -> str:
    if not is_safe_id(value):
        raise ValidationError(f"id {value!r} is not safe for a URL or file name")
    return value


def community_path(community_id: str) -> str:
    return f"c/{_check(community_id)}.html"


def unit_path(unit_id: str) -> str:
    return f"u/{_check(unit_id)}.html"


def building_path(community_id: str, building_id: str) -> str:
    return f"{community_path(community_id)}#b={_check(building_id)}"


def gate_path(community_id: str, gate_id: str) -> str:
    return f"{community_path(community_id)}#g={_check(gate_id)}"


def absolute(base_url: str, path: str) -> str:
    """Join the configured base URL and a site-relative path."""
    return base_url.rstrip("/") + "/" + path
