"""A :class:`Finding`: one thing wrong or missing in the data, in Chinese and English.

Findings come from reading (a survey row that cannot be used, an OSM way cut at
the extract edge), from inference (a gate guessed where a path crosses a fence)
and from :func:`ridermap.analysis.validate.validate`. Readers attach theirs to the
:class:`~ridermap.model.bundle.Bundle` (``bundle.findings``) so that one
``validate`` run lists every problem at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem, with where it is and what to do, in both languages.

    ``source`` names the file and row (``survey.xlsx:units:12``) or the OSM
    element (``osm:way/123``); ``column`` and ``value`` say which cell, when
    one cell is at fault.
    """

    severity: str  # "error" | "warning" | "info"
    code: str
    layer: str
    id: str
    source: str
    message_zh: str
    message_en: str
    column: str = ""
    value: str = ""

    def message(self, language: str = "zh") -> str:
        return self.message_zh if language == "zh" else self.message_en

    def as_dict(self) -> dict:
        return asdict(self)
