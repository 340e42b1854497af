"""Map scale, the lettered reference grid and its index (as MapOSMatic prints them).

Pure functions of numbers and shapely geometries in paper millimetres; no
drawing. Columns are lettered A, B, ... from the left, rows numbered 1, 2, ...
from the top, so a square reads "C3".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: scale denominators are these times a power of ten
_SCALE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)
#: grid sides and scale-bar lengths are these times a power of ten (MapOSMatic)
_ROUND_STEPS = (1.0, 2.0, 2.5, 5.0)


def nice_scale(minimum: float) -> int:
    """Smallest "round" scale denominator that is at least ``minimum``.

    >>> nice_scale(1320), nice_scale(1500), nice_scale(1501)
    (1500, 1500, 2000)
    """
    if minimum <= 0:
        raise ValueError(f"scale must be positive, got {minimum}")
    exp = math.floor(math.log10(minimum))
    for e in (exp, exp + 1):
        for step in _SCALE_STEPS:
            value = step * 10**e
            if value >= minimum * (1 - 1e-9):
                return int(round(value))
    raise AssertionError("unreachable")


def round_length(value: float) -> float:
    """Round a length to the nearest 1, 2, 2.5 or 5 times a power of ten (on a log scale).

    >>> round_length(58.0), round_length(33.0), round_length(180.0)
    (50.0, 25.0, 200.0)
    """
    if value <= 0:
        raise ValueError(f"length must be positive, got {value}")
    exp = math.floor(math.log10(value))
    options = [s * 10**e for e in (exp - 1, exp, exp + 1) for s in _ROUND_STEPS]
    return float(min(options, key=lambda o: abs(math.log(o / value))))


def column_name(i: int) -> str:
    """``0 -> "A"``, ``25 -> "Z"``, ``26 -> "AA"``."""
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


@dataclass(frozen=True)
class Grid:
    """A reference grid over a map frame, all in paper mm.

    ``frame`` is ``(x0, y0, x1, y1)``; squares start at the frame's top-left
    corner; the last column and row may be partial.
    """

    frame: tuple[float, float, float, float]
    side_mm: float
    side_m: float

    @property
    def n_cols(self) -> int:
        x0, _, x1, _ = self.frame
        return max(1, math.ceil((x1 - x0) / self.side_mm - 1e-6))

    @property
    def n_rows(self) -> int:
        _, y0, _, y1 = self.frame
        return max(1, math.ceil((y1 - y0) / self.side_mm - 1e-6))

    def x_lines(self) -> list[float]:
        x0, _, x1, _ = self.frame
        return [x0 + i * self.side_mm for i in range(1, self.n_cols) if x0 + i * self.side_mm < x1]

    def y_lines(self) -> list[float]:
        _, y0, _, y1 = self.frame
        return [y1 - i * self.side_mm for i in range(1, self.n_rows) if y1 - i * self.side_mm > y0]

    def col_centres(self) -> list[tuple[str, float]]:
        x0, _, x1, _ = self.frame
        return [
            (column_name(i), (x0 + i * self.side_mm + min(x1, x0 + (i + 1) * self.side_mm)) / 2)
            for i in range(self.n_cols)
        ]

    def row_centres(self) -> list[tuple[str, float]]:
        _, y0, _, y1 = self.frame
        return [
            (str(i + 1), (y1 - i * self.side_mm + max(y0, y1 - (i + 1) * self.side_mm)) / 2) for i in range(self.n_rows)
        ]

    def square_of(self, x: float, y: float) -> str | None:
        """Name of the square holding a point, ``None`` outside the frame."""
        x0, y0, x1, y1 = self.frame
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        col = min(int((x - x0) // self.side_mm), self.n_cols - 1)
        row = min(int((y1 - y) // self.side_mm), self.n_rows - 1)
        return f"{column_name(col)}{row + 1}"

    def squares_of(self, geom: BaseGeometry) -> list[str]:
        """Names of the squares a geometry touches, in reading order (row, then column)."""
        x0, y0, x1, y1 = self.frame
        if geom.is_empty:
            return []
        if geom.geom_type == "Point":
            sq = self.square_of(geom.x, geom.y)
            return [sq] if sq else []
        gx0, gy0, gx1, gy1 = geom.bounds
        c0 = max(0, int((max(gx0, x0) - x0) // self.side_mm))
        c1 = min(self.n_cols - 1, int((min(gx1, x1) - x0) // self.side_mm))
        r0 = max(0, int((y1 - min(gy1, y1)) // self.side_mm))
        r1 = min(self.n_rows - 1, int((y1 - max(gy0, y0)) // self.side_mm))
        cells, names = [], []
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                cells.append(
                    shapely.box(
                        x0 + c * self.side_mm,
                        y1 - (r + 1) * self.side_mm,
                        x0 + (c + 1) * self.side_mm,
                        y1 - r * self.side_mm,
                    )
                )
                names.append(f"{column_name(c)}{r + 1}")
        if not cells:
            return []
        hit = shapely.intersects(np.array(cells, dtype=object), geom)
        # touching along an edge only is not "in" a square
        area = shapely.area(shapely.intersection(np.array(cells, dtype=object), geom)) if geom.area > 0 else None
        keep = hit if area is None else area > 1e-6
        return [n for n, k in zip(names, keep) if k]


def make_grid(frame: tuple[float, float, float, float], *, scale: int, square_mm: float) -> Grid:
    """A grid with squares of about ``square_mm`` on paper and a round side in metres."""
    side_m = round_length(square_mm * scale / 1000.0)
    return Grid(frame=frame, side_mm=side_m * 1000.0 / scale, side_m=side_m)


def compact_squares(squares: list[str]) -> str:
    """``["B2", "C2", "B3", "C3"] -> "B2-C3"`` when they form a block, else joined by spaces.

    >>> compact_squares(["B2", "C2", "B3", "C3"]), compact_squares(["A1"]), compact_squares(["A1", "C4"])
    ('B2-C3', 'A1', 'A1 C4')
    """
    if len(squares) <= 1:
        return "".join(squares)
    parsed = []
    for sq in squares:
        letters = "".join(ch for ch in sq if ch.isalpha())
        parsed.append((letters, int(sq[len(letters) :])))
    cols = sorted({_col_index(c) for c, _ in parsed})
    rows = sorted({r for _, r in parsed})
    block = {(c, r) for c in range(cols[0], cols[-1] + 1) for r in range(rows[0], rows[-1] + 1)}
    if block == {(_col_index(c), r) for c, r in parsed}:
        return f"{column_name(cols[0])}{rows[0]}-{column_name(cols[-1])}{rows[-1]}"
    return " ".join(squares)


def _col_index(letters: str) -> int:
    value = 0
    for ch in letters:
        value = value * 26 + (ord(ch) - ord("A") + 1)
    return value - 1
