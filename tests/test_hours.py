"""ridermap.hours: the opening_hours subset, and errors that say where parsing fails."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ridermap.hours import check_hours, parse_hours, parse_hours_strict


@pytest.mark.parametrize(
    "text, position, token, reason",
    [
        ("Mo-Xx 25:00-99:00", 3, "Xx", "unknown day 'Xx'"),
        ("Mo-Fr 25:00-26:00", 6, "25:00", "hour 25 is out of range"),
        ("Mo-Fr 07:00-24:30", 12, "24:30", "hour 24 is out of range"),
        ("Mo-Fr 07:00-09:00; Sa 10:00-1x:00", 22, "10:00-1x:00", "not a time span"),
        ("Mo-Fr 07:00-09:00,17:61-18:00", 18, "17:61", "minute 61 is out of range"),
        ("Mo-Fr", 0, "Mo-Fr", "must follow the days"),
        ("每天 08:00-09:00", 0, "每天", "not a day selector"),
    ],
)
def test_errors_say_where(text, position, token, reason):
    problem = check_hours(text)
    assert problem is not None and not problem.unsupported
    assert (problem.position, problem.token) == (position, token) and reason in problem.reason_en
    assert text[position:].startswith(token) and f"第 {position + 1} 个字符" in problem.message_zh
    assert parse_hours(text) is None


@pytest.mark.parametrize(
    "text", ["PH off", "Mo-Fr 08:00-12:00; PH off", "Jan-Mar 08:00-10:00", "Mo-Fr sunrise-sunset", "Mo-Fr 08:00+"]
)
def test_valid_osm_outside_the_subset_is_unsupported_not_invalid(text):
    problem = check_hours(text)
    assert problem is not None and problem.unsupported and parse_hours(text) is None


@pytest.mark.parametrize(
    "text",
    ["24/7", "Mo-Fr 07:00-09:00, 17:00-19:00; Sa,Su off", "Mo-Fr 08:00-12:00 || Sa 10:00-11:00", "off", "22:00-06:00"],
)
def test_valid_hours_have_no_problem(text):
    assert check_hours(text) is None and parse_hours_strict(text) == parse_hours(text) is not None


def test_hours_imports_only_the_catalogue_and_routing_reexports_it():
    import ridermap.analysis.routing as routing
    import ridermap.hours as hours

    tree = ast.parse(Path(hours.__file__).read_text(encoding="utf-8"))
    ours = {
        (n.module, a.name)
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("ridermap")
        for a in n.names
    }
    ours |= {
        (a.name, "")
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
        if a.name.startswith("ridermap")
    }
    assert ours == {("ridermap", "i18n")}  # the base floor's string catalogue, for the words of hours_text
    assert (
        routing.parse_hours is hours.parse_hours
        and routing.hours_apply is hours.hours_apply
        and routing.Schedule is hours.Schedule
    )
