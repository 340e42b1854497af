"""Base text helpers (natural sort, wrapping) and the one catalogue of interface strings."""

from __future__ import annotations

import ast
import string

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from ridermap import i18n
from ridermap.text import natural_key, wrap

# --------------------------------------------------------------------------- natural sort


@pytest.mark.parametrize(
    "values, expected",
    [
        (["10号楼", "2号楼", "1号楼", "12号楼"], ["1号楼", "2号楼", "10号楼", "12号楼"]),
        (["B12", "B7", "B07-2", "G3", "B100"], ["B7", "B07-2", "B12", "B100", "G3"]),
        (["U07-10", "U07-2", "U07-1"], ["U07-1", "U07-2", "U07-10"]),
        (["2单元", "甲", "1单元", ""], ["", "1单元", "2单元", "甲"]),
    ],
)
def test_natural_key_orders_numbers_by_value(values, expected):
    assert sorted(values, key=natural_key) == expected


def test_natural_key_takes_any_value_and_superscripts():
    """Numbers and None sort as their text; a superscript digit is text, not a crash (int('²') fails)."""
    assert natural_key(7) == ("", 7, "")
    assert natural_key(None) == ("None",)
    assert sorted(["2²", "10", "2"], key=natural_key) == ["2", "2²", "10"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789AB号楼-² ", max_size=8), max_size=12))
def test_natural_key_compares_any_two_values(values):
    ordered = sorted(values, key=natural_key)  # never a TypeError between int and str parts
    assert sorted(ordered) == sorted(values)


# --------------------------------------------------------------------------- wrapping


def _width(text: str) -> float:
    """A CJK character is one em wide, anything else half an em."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.5 for ch in text)


def test_wrap_breaks_between_cjk_and_after_latin_words():
    assert wrap("北门 North gate, 24 h", 10, len) == ["北门 North", "gate, 24 h"]
    assert wrap("骑手停车点，步行进入", 4, len) == ["骑手停车", "点，步行", "进入"]


def test_wrap_breaks_a_too_long_word_anywhere():
    assert wrap("Superlongword", 4, len) == ["Supe", "rlon", "gwor", "d"]


def test_wrap_empty_text_is_one_empty_line():
    assert wrap("", 10, len) == [""]
    assert wrap("   ", 10, len) == [""]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="骑手停车点步行进入北门，。、）abc Gate,24h:-", min_size=1, max_size=60), st.floats(2.0, 20.0))
def test_wrap_keeps_every_character_and_fits(text, max_width):
    lines = wrap(text, max_width, _width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost, nothing added
    for i, line in enumerate(lines):
        # a line only overflows when it is one character, or closing punctuation was kept with it
        assert _width(line) <= max_width or len(line) == 1 or any(ch in "）)，,。；;：:、" for ch in line), line
        if i:
            assert line[:1] not in "）)，,。；;：:、" or _width(lines[i - 1]) == 0


# --------------------------------------------------------------------------- i18n


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_chinese_and_english_with_the_same_fields():
    assert len(i18n.MESSAGES) > 50
    for key, texts in i18n.MESSAGES.items():
        assert key.count(".") == 1, key
        assert set(texts) == set(i18n.LANGUAGES), key
        zh, en = texts["zh"], texts["en"]
        assert type(zh) is type(en), key
        if isinstance(zh, tuple):
            assert len(zh) == len(en) and all(zh) and all(en), key
        else:
            assert zh.strip() and en.strip(), key
            assert _fields(zh) == _fields(en), key


def test_t_fills_fields_and_falls_back_to_chinese():
    assert i18n.t("honest.rider_rule", "en", access="Ride in") == "Rider access: Ride in"
    assert i18n.t("access.unknown", "fr") == i18n.t("access.unknown") == "待核实"
    with pytest.raises(KeyError, match="access.maybe"):
        i18n.t("access.maybe", "zh")
    with pytest.raises(TypeError, match="tuple"):
        i18n.t("days.week", "zh")


def test_words_is_read_only_and_in_catalogue_order():
    week = i18n.words("days", "zh")["week"]
    assert week[0] == "周一" and week[-1] == "周日"
    access = i18n.words("access", "en")
    assert list(access) == ["ride", "walk", "none", "unknown"]
    with pytest.raises(TypeError):
        access["ride"] = "anything"  # type: ignore[index]
    with pytest.raises(KeyError, match="nowhere"):
        i18n.words("nowhere", "zh")


def test_model_labels_come_from_the_catalogue():
    from ridermap.model.schema import FACILITY_KINDS, FACILITY_LABELS, RIDER_ACCESS_LABELS

    assert list(FACILITY_LABELS) == list(FACILITY_KINDS)
    assert FACILITY_LABELS["charger"] == {
        "zh": i18n.t("facility.charger", "zh"),
        "en": i18n.t("facility.charger", "en"),
    }
    assert RIDER_ACCESS_LABELS == i18n.labels("access")


def _bilingual_tables(path) -> list[int]:
    """Lines of dict literals keyed "zh" and "en" whose values are written-out text (not data)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Dict):
            continue
        by_key = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
        texts = [by_key.get(lang) for lang in ("zh", "en")]
        if all(
            isinstance(v, (ast.Dict, ast.Tuple)) or (isinstance(v, ast.Constant) and isinstance(v.value, str))
            for v in texts
        ):
            found.append(node.lineno)
    return found


#: tables still outside the catalogue, in files other work on this release restructures; each is
#: switched to ridermap.i18n when that work lands (ARCHITECTURE.md, "Interface strings")
NOT_YET_SWITCHED: set[str] = set()


def test_interface_strings_live_in_the_catalogue():
    """No new Chinese/English string table outside ridermap/i18n.py."""
    files = sorted((ROOT / "ridermap").rglob("*.py")) + [ROOT / "cli.py"]
    found = {str(f.relative_to(ROOT)): _bilingual_tables(f) for f in files if f.name != "i18n.py"}
    found = {f: lines for f, lines in found.items() if lines}
    assert set(found) <= NOT_YET_SWITCHED, {f: v for f, v in found.items() if f not in NOT_YET_SWITCHED}
