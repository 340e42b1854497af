"""Why a unit page's route takes its gate: minutes, metres and the runner-up, in words (no HTML here).

A route is chosen by cost (:mod:`ridermap.analysis.routing`: moving time at
the speeds of ``[routing]`` plus the time counted for parking). Riders see
the result, so they also see why: the chosen gate with its mode, metres and
minutes, and the best way through another gate with the reason it lost —
farther by so many metres, walk-in only (now), rider access 待核实, no rider
parking at that gate, or simply slower. A runner-up whose cost is within
``alternative_pct`` of the best is offered as an alternative with its own
metres and minutes. With no other usable gate, the nearest gate riders may
not use says so (no rider access / locked).

Texts come from the ``why`` space of :mod:`ridermap.i18n`; names are data
and stay unescaped here (the page escapes them).
"""

from __future__ import annotations

from ridermap import i18n
from ridermap.analysis.routing import UnitRoute, round_m, round_min
from ridermap.config import RouteCosts

__all__ = ["explain", "access_now"]

#: metres two routes may differ by and still count as the same length (below the 5 m rounding of pages)
_SAME_M = 5.0


def access_now(gate: dict, when: str) -> str:
    """A gate's rule during a plan: ``none`` when locked; outside its hours (``when == "out"``) ``walk``.

    ``gate`` is a row of the compound page's gate list (``access``, ``locked``, ``hours``).
    """
    if gate.get("locked") or gate.get("access") == "none":
        return "none"
    if when == "out" and gate.get("hours"):
        return "walk"
    return str(gate.get("access") or "unknown")


def explain(
    route: UnitRoute,
    runner: UnitRoute | None,
    *,
    costs: RouteCosts,
    when: str,
    gates: dict[str, dict],
    names: dict[str, dict[str, str]],
    nearest_gates: list[str],
) -> dict:
    """The minutes of ``route`` and why it takes its gate, in Chinese and English.

    Parameters
    ----------
    route
        The chosen route of one plan.
    runner
        The best route through another gate in the same plan (``None`` if none).
    costs
        The costs the routes were planned with (speeds, parking, ``alternative_pct``).
    when
        The plan: ``always``, ``in`` (inside the hours of rules) or ``out``.
    gates
        Gate id -> row of the compound's gate list (``access``, ``locked``, ``hours``).
    names
        ``{"zh": {gate id: name}, "en": {...}}`` (data, unescaped; 待核实 marks included).
    nearest_gates
        The compound's gate ids, nearest to the unit door first.

    Returns
    -------
    dict
        ``min`` (minutes of ``route``), ``why`` (``{"zh": [...], "en": [...]}``:
        the chosen line, then the runner-up line if any) and ``alt`` (the
        alternative within ``alternative_pct``: ``gate``, ``entry``, ``m``,
        ``min``; ``None`` otherwise).
    """
    minutes = round_min(route.travel_s(costs))
    why: dict[str, list[str]] = {}
    alt = None
    if runner is not None and runner.time_s <= route.time_s * (1.0 + costs.alternative_pct / 100.0):
        alt = {
            "gate": runner.gate_id,
            "entry": runner.entry,
            "m": round(runner.length_m),
            "min": round_min(runner.travel_s(costs)),
        }
    for lang in i18n.LANGUAGES:
        words = i18n.words("why", lang)
        lines = [_chosen_line(route, minutes, words, names[lang])]
        if runner is not None:
            lines.append(_runner_line(route, runner, alt, words, names[lang], gates, when, costs))
        else:
            blocked = _blocked_line(route, words, names[lang], gates, when, nearest_gates)
            if blocked:
                lines.append(blocked)
        why[lang] = lines
    return {"min": minutes, "why": why, "alt": alt}


def _mode(route: UnitRoute, words) -> str:
    return words["mode_ride"] if route.entry == "ride" else words["mode_walk"]


def _chosen_line(route: UnitRoute, minutes: int, words, names: dict[str, str]) -> str:
    fields = {"mode": _mode(route, words), "m": round(route.length_m), "n": minutes}
    if route.gate_id:
        return words["chosen"].format(gate=names.get(route.gate_id, route.gate_id), **fields)
    return words["chosen_nogate"].format(**fields)


def _runner_line(
    route: UnitRoute,
    runner: UnitRoute,
    alt: dict | None,
    words,
    names: dict[str, str],
    gates: dict[str, dict],
    when: str,
    costs: RouteCosts,
) -> str:
    reason, rule = _reason(route, runner, words, gates, when, costs)
    gate = names.get(runner.gate_id, runner.gate_id)
    if alt is not None:
        return words["alt"].format(gate=gate, mode=_mode(runner, words), m=alt["m"], n=alt["min"], reason=reason)
    if rule:  # the gate's rule is the reason: its mode would say it twice
        return words["unusable"].format(gate=gate, reason=reason)
    return words["runner_up"].format(gate=gate, mode=_mode(runner, words), reason=reason)


def _reason(
    route: UnitRoute, runner: UnitRoute, words, gates: dict[str, dict], when: str, costs: RouteCosts
) -> tuple[str, bool]:
    """Why ``runner`` lost to ``route`` and whether that is the gate's rule: the first of walk-in only (now) /
    待核实, farther, parking at the gate, slower."""
    if route.entry == "ride" and runner.entry == "walk":
        gate = gates.get(runner.gate_id, {})
        now = access_now(gate, when)
        if now == "unknown":
            return words["unconfirmed"], True
        if now == "walk":
            return (words["walk_only_now"] if when == "out" and gate.get("hours") else words["walk_only"]), True
    extra_m = runner.length_m - route.length_m
    if extra_m > _SAME_M:
        return words["farther"].format(m=round_m(extra_m)), False
    extra_s = runner.start_s - route.start_s
    if runner.entry == "walk" and extra_s > 0 and runner.start_s == costs.gate_park_s:
        key = "gate_park" if runner.parking_id else "no_parking"
        return words[key].format(s=round(extra_s)), False
    return words["slower"].format(s=max(1, round(runner.time_s - route.time_s))), False


def _blocked_line(
    route: UnitRoute, words, names: dict[str, str], gates: dict[str, dict], when: str, nearest_gates: list[str]
) -> str:
    """The nearest other gate riders may not use now, and why (``""`` if there is none)."""
    for gid in nearest_gates:
        if gid == route.gate_id or gid not in gates:
            continue
        if access_now(gates[gid], when) == "none":
            reason = words["locked"] if gates[gid].get("locked") else words["no_access"]
            return words["unusable"].format(gate=names.get(gid, gid), reason=reason)
    return ""
