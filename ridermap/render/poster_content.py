"""Poster part: what the poster says, decided before the layout.

Title and subtitle, gate names as shown (待核实 on inferred gates and gates
of unknown rule), label texts and the QR target; every text is checked for
glyphs the font lacks. Pure functions of the model and the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from ridermap.config import Config
from ridermap.errors import ConfigError
from ridermap.hours import hours_text
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_confirmed, is_inferred
from ridermap.model.schema import FACILITY_LABELS, RIDER_ACCESS_LABELS
from ridermap.render.fonts import check_glyphs
from ridermap.render.honest import compound_title, gate_title, known_access
from ridermap.render.honest import words as honest_words
from ridermap.render.poster_style import OSM_ATTRIBUTION
from ridermap.urls import absolute, community_path, gate_path

if TYPE_CHECKING:
    from ridermap.render.poster_map import Geo


def natural_key(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def has_osm(*frames: gpd.GeoDataFrame) -> bool:
    for frame in frames:
        for source in frame["source"]:
            if any(part.strip().startswith("osm:") for part in str(source).split(";")):
                return True
    return False


def find_gate(bundle: Bundle, community_id: str, gate: str) -> str:
    """Id of a compound's gate given its id or its exact name."""
    gates = bundle.gates[bundle.gates["community_id"] == community_id]
    by_id = gates[gates["id"] == gate]
    if len(by_id):
        return str(by_id["id"].iloc[0])
    by_name = gates[gates["name"] == gate]
    if len(by_name) == 1:
        return str(by_name["id"].iloc[0])
    if len(by_name) > 1:
        raise ConfigError(f"gate name {gate!r} is ambiguous in {community_id}: use one of {', '.join(by_name['id'])}")
    known = ", ".join(f"{n or '?'} ({i})" for i, n in zip(gates["id"], gates["name"])) or "none"
    raise ConfigError(f"no gate {gate!r} in community {community_id} (gates: {known})")


def gate_key(row) -> str:
    """Symbol of a gate: its rule from data, or ``unknown`` for an inferred gate or one of unknown rule."""
    if not gate_confirmed(inferred=row["inferred"], rider_access=known_access(row["rider_access"])):
        return "unknown"
    return known_access(row["rider_access"])


def access_parts(row, lang: str, words: Mapping[str, Any]) -> tuple[str, str]:
    """("ride in (locked)", "hours Mo-Su 07:00-22:00, other times park and walk"); a rule only from data."""
    access = known_access(row["rider_access"])
    main = RIDER_ACCESS_LABELS[access][lang]
    if bool(row.get("locked", False)):
        main += f" ({words['locked']})" if lang == "en" else f"（{words['locked']}）"
    hours = hours_text(row.get("hours", ""), lang=lang)  # worded as the site and plates word it
    detail = ""
    if hours and access != "walk":
        detail = f"{words['hours']} {hours}{'; ' if lang == 'en' else '，'}{words['outside_hours']}"
    return main, detail


def access_text(row, lang: str, words: Mapping[str, Any]) -> str:
    main, detail = access_parts(row, lang, words)
    return f"{main} ({detail})" if detail and lang == "en" else (f"{main}（{detail}）" if detail else main)


@dataclass(frozen=True)
class Texts:
    """Every text the poster prints that is decided before the layout."""

    gate_shown: dict
    gate_name: str
    title: str
    subtitle: str
    unconfirmed_gates: set
    unconfirmed_numbers: set
    any_unconfirmed: bool
    url: str
    b_text: list
    u_text: list


def poster_texts(
    view: Bundle, geo: Geo, cid: str, gate_id: str | None, *, config: Config, lang: str, words: Mapping[str, Any]
) -> Texts:
    """Title, subtitle, gate names, label texts and the URL; every one checked for glyphs."""
    layers, gate_row = geo.layers, geo.gate_row
    comm = view.communities.iloc[0]
    # the title is the compound's name, marked 待核实 if inferred; never its id
    name, name_unconfirmed = compound_title(comm["name"], comm["inferred"], lang, comm["name_en"])
    g = layers["gates"]
    # gate names as shown: 待核实 on inferred gates and gates of unknown rule
    gate_shown = {
        str(i): gate_title(n, inferred=inf, rider_access=a, survey_key=k, lang=lang, fallback=str(i), name_en=ne)
        for i, n, inf, a, k, ne in zip(
            g["id"], g["name"], g["inferred"], g["rider_access"], g["survey_key"], g["name_en"]
        )
    }
    gate_name = gate_shown[str(gate_row["id"])][0] if gate_row is not None else ""
    title = f"{name} {words['guide']}"
    if gate_row is not None:
        rule = (
            words["rule_unconfirmed"]
            if known_access(gate_row["rider_access"]) == "unknown"
            else access_text(gate_row, lang, words)
        )
        far_m = geo.far_gates.get(str(gate_row["id"]))
        far = words["far_gate"].format(km=f"{far_m / 1000:.1f}") if far_m is not None else ""
        subtitle = f"{words['here']}{words['sep']}{gate_name or gate_id}{far} — {rule}"
    else:
        comm_rule = known_access(comm["rider_access"])
        subtitle = f"{words['overview']} — " + (
            words["rule_unconfirmed"]
            if comm_rule == "unknown"
            else words["compound_access"].format(access=RIDER_ACCESS_LABELS[comm_rule][lang])
        )
    unconfirmed_gates = {gid for gid, (_, unconf) in gate_shown.items() if unconf}
    # numbers ridermap inferred (not read from data) are printed grey, like everything 待核实
    unconfirmed_numbers = {
        str(i)
        for layer in ("buildings", "units")
        for i, inf in zip(layers[layer]["id"], layers[layer]["inferred"])
        if is_inferred(inf, "number")
    }
    # the legend's 待核实 row; where unconfirmed gates are drawn, their row (出入口：待核实) says it already
    any_unconfirmed = bool(unconfirmed_numbers) or (
        not unconfirmed_gates and (name_unconfirmed or known_access(comm["rider_access"]) == "unknown")
    )
    url = absolute(config.base_url, gate_path(cid, gate_id) if gate_id else community_path(cid))

    buildings = layers["buildings"]
    units = layers["units"]
    fac = layers["facilities"]
    b_text = [str(n) or str(lab) for n, lab in zip(buildings["number"], buildings["label"])]
    u_text = [str(n) or "" for n in units["number"]]
    all_text = [
        title,
        subtitle,
        name,
        *b_text,
        *u_text,
        *(t for t, _ in gate_shown.values()),
        *fac["name"].astype(str),
        *buildings["label"].astype(str),
        *units["label"].astype(str),
        *(v for v in words.values()),
        *(v[lang] for v in RIDER_ACCESS_LABELS.values()),
        *(v[lang] for v in FACILITY_LABELS.values()),
        *g["hours"].astype(str),
        str(config.data_date),
        OSM_ATTRIBUTION,
        url,
        *(honest_words(lang)[k] for k in ("draft", "draft_note")),
    ]
    for text in all_text:
        check_glyphs(text, where=f"poster of {cid}")
    return Texts(
        gate_shown,
        gate_name,
        title,
        subtitle,
        unconfirmed_gates,
        unconfirmed_numbers,
        any_unconfirmed,
        url,
        b_text,
        u_text,
    )


_SINGULAR = {
    "communities": "community",
    "gates": "gate",
    "buildings": "building",
    "units": "unit",
    "facilities": "facility",
    "paths": "path",
}


def undrawable_notes(before: Bundle, after: Bundle) -> list[str]:
    """One line per feature whose text had characters the font cannot draw (emoji, bidi controls).

    ``after`` is ``before`` through :func:`ridermap.render.fonts.drawable_bundle`.
    """
    notes = []
    for name, old in before.layers().items():
        new = getattr(after, name)
        if new is old:
            continue
        for col in old.columns:
            if col == "geometry" or old[col].dtype.kind != "O":
                continue
            for fid, a, b in zip(old["id"], old[col], new[col]):
                if a != b:
                    codes = " ".join(f"U+{ord(ch):04X}" for ch in dict.fromkeys(str(a)) if ch not in str(b))
                    notes.append(
                        f"{_SINGULAR.get(name, name)} {fid} {col} {str(b)!r}: "
                        f"characters the font cannot draw were replaced by □ or dropped ({codes})"
                    )
    return notes
