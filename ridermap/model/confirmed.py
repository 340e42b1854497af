"""What is confirmed and what is inferred: the shared reading of ``inferred`` and ``unknown``.

ridermap marks what it guessed (a gate where a path crosses a fence, a
compound name, a rider rule) in the ``inferred`` column of a feature and
writes ``rider_access == "unknown"`` where no rule is known. Every output
shows those as 待核实 ("to be confirmed"). This module answers the small
questions all of them ask, so that posters, plates, pages and gap reports
agree:

- :func:`inferred_attrs` / :func:`is_inferred`: which attributes were inferred;
- :func:`gate_confirmed`: a gate located from data with a known rule;
- :func:`gate_usable`: a gate anyone may pass (not locked, rule not ``none``;
  an ``unknown`` rule is usable on foot);
- :func:`needs_draft`: whether an output of a compound carries the
  "草图 / DRAFT" band under ``[build] draft``.

Imports nothing of ridermap, so every layer may use it.
"""

from __future__ import annotations

__all__ = [
    "DRAFT_SETTINGS",
    "UNKNOWN",
    "inferred_attrs",
    "is_inferred",
    "gate_confirmed",
    "gate_usable",
    "has_confirmed_gate",
    "needs_draft",
]

UNKNOWN = "unknown"
#: values of ``[build] draft``
DRAFT_SETTINGS = ("auto", True, False)


def inferred_attrs(value) -> frozenset[str]:
    """The attribute names in an ``inferred`` cell (``"location,rider_access"``).

    >>> sorted(inferred_attrs("location, rider_access"))
    ['location', 'rider_access']
    >>> inferred_attrs(None)
    frozenset()
    """
    if value is None or value != value:  # None or NaN
        return frozenset()
    return frozenset(p.strip() for p in str(value).split(",") if p.strip())


def is_inferred(value, attr: str) -> bool:
    """Whether ``attr`` is among the inferred attributes of an ``inferred`` cell."""
    return attr in inferred_attrs(value)


def gate_confirmed(*, inferred, rider_access) -> bool:
    """A gate whose place and rider rule come from data.

    >>> gate_confirmed(inferred="", rider_access="ride")
    True
    >>> gate_confirmed(inferred="location,rider_access", rider_access="unknown")
    False
    >>> gate_confirmed(inferred="name", rider_access="walk")
    True
    """
    attrs = inferred_attrs(inferred)
    return "location" not in attrs and "rider_access" not in attrs and str(rider_access) != UNKNOWN


def gate_usable(*, rider_access, locked) -> bool:
    """A gate someone may pass: not locked and its rule not ``none`` (``unknown`` counts, on foot)."""
    return not bool(locked) and str(rider_access) != "none"


def has_confirmed_gate(gates, community_id: str | None = None) -> bool:
    """Whether ``gates`` (a gates layer; optionally of one compound) hold a confirmed gate."""
    if community_id is not None:
        gates = gates[gates["community_id"] == community_id]
    return any(gate_confirmed(inferred=i, rider_access=a) for i, a in zip(gates["inferred"], gates["rider_access"]))


def needs_draft(setting, gates, community_id: str | None = None) -> bool:
    """Whether an output carries the "草图 / DRAFT" band.

    Parameters
    ----------
    setting
        ``True`` / ``False`` force it; ``"auto"`` turns it on when the
        compound has no confirmed gate (every gate inferred or of unknown
        rule, or none at all).
    gates
        A gates layer.
    community_id
        The compound (``None``: every gate of ``gates``).
    """
    if setting is True or setting is False:
        return setting
    return not has_confirmed_gate(gates, community_id)
