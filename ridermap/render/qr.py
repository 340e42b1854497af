"""The one QR encoder and the one QR drawer of ridermap (posters, doorplates, SVG).

Encoding
    :func:`qr_symbol` / :func:`qr_matrix` make a full QR code (never Micro
    QR, domain.md §6) at a chosen minimum error-correction level, raised to
    Q or H when that keeps the same version (the same number of modules),
    as segno's ``boost_error`` does. The encoder is zxing-cpp's writer (zint
    inside, C++), chosen by ``benchmarks/qr.py`` on the 45 URLs a build of
    ``data/sample`` prints: about 0.44 ms a code against segno's 4.6 ms,
    the same level (M) for all, and the same version for 39 while the other
    6 (gate URLs, whose digit runs zint packs in numeric mode) are one
    version smaller, i.e. larger modules on the same print size. segno is no
    longer a dependency. zxing-cpp also decodes what we print
    (:mod:`ridermap.publish.doorplates`, tests).

Drawing
    :func:`module_runs` turns the module matrix into horizontal runs of dark
    modules, the one geometry every backend draws as ONE filled path
    (no seams between modules, one object instead of hundreds):
    :func:`mpl_path` (matplotlib, posters), :func:`pdf_ops` (content-stream
    operators, doorplates), :func:`svg_path_d` (SVG ``d``, doorplates).
    Coordinates are in modules from the symbol's top-left corner; the
    quiet zone (:data:`QUIET_ZONE` modules of white) is the caller's white
    square around it.

Nothing here touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ridermap.errors import RenderError

#: quiet zone around a QR symbol, in modules (ISO/IEC 18004)
QUIET_ZONE = 4
#: error-correction levels, weakest first
LEVELS = ("L", "M", "Q", "H")


@dataclass(frozen=True, eq=False)
class QrSymbol:
    """A QR code's modules (``True`` = dark, no quiet zone), version and error-correction level."""

    modules: np.ndarray
    version: int
    error: str

    @property
    def size(self) -> int:
        """Modules per side (``17 + 4 * version``)."""
        return int(self.modules.shape[0])


def _encode(data: str, level: str, version: int = 0) -> np.ndarray:
    import zxingcpp

    options = {"version": version} if version else {}
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=level, **options)
    return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128


@lru_cache(maxsize=4096)
def _symbol(data: str, ecc: str, boost: bool) -> QrSymbol:
    modules, level = _encode(data, ecc), ecc
    n = modules.shape[0]
    if modules.ndim != 2 or n != modules.shape[1] or n < 21 or (n - 17) % 4:
        raise RenderError(f"QR for {data!r} is {modules.shape} modules: not a full QR code")
    version = (n - 17) // 4
    if boost:  # Q then H: when Q needs a bigger version, so does H
        for higher in LEVELS[LEVELS.index(ecc) + 1 :]:
            try:
                boosted = _encode(data, higher, version)
            except ValueError:  # does not fit this version
                break
            if boosted.shape != modules.shape:
                break
            modules, level = boosted, higher
    modules.setflags(write=False)
    return QrSymbol(modules, version, level)


def qr_symbol(data: str, *, ecc: str = "M", boost: bool = True) -> QrSymbol:
    """Encode ``data`` as a full QR code (never Micro QR).

    Parameters
    ----------
    data
        The text (a URL); UTF-8.
    ecc
        Minimum error-correction level: ``L``, ``M``, ``Q`` or ``H``
        (doorplates and posters use ``M``, domain.md §6).
    boost
        Raise the level to the strongest one that keeps the version the
        smallest at ``ecc`` needs.

    Returns
    -------
    QrSymbol
        Cached per ``(data, ecc, boost)``; its ``modules`` are read-only.

    Raises
    ------
    RenderError
        Unknown level, or ``data`` too long for a QR code.

    Examples
    --------
    >>> sym = qr_symbol("https://rider.example.cn/u/510104-jhy-b7-u2.html")
    >>> sym.version, sym.error, sym.size
    (4, 'M', 33)
    >>> qr_symbol("x").error  # version 1 holds it even at H
    'H'
    """
    ecc = str(ecc).upper()
    if ecc not in LEVELS:
        raise RenderError(f"unknown QR error-correction level {ecc!r} (known: {', '.join(LEVELS)})")
    try:
        return _symbol(str(data), ecc, bool(boost))
    except (ValueError, RuntimeError) as exc:
        raise RenderError(f"cannot encode {data!r} as a QR code: {exc}") from exc


def qr_matrix(data: str, *, ecc: str = "M", boost: bool = True) -> np.ndarray:
    """The module matrix of :func:`qr_symbol` (``bool``, ``True`` = dark, no quiet zone, read-only)."""
    return qr_symbol(data, ecc=ecc, boost=boost).modules


# --------------------------------------------------------------------------- geometry
def module_runs(modules: np.ndarray) -> np.ndarray:
    """Horizontal runs of dark modules as rows of ``(row, column, length)`` (``int32``).

    Examples
    --------
    >>> module_runs(np.array([[1, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)).tolist()
    [[0, 0, 2], [0, 3, 1], [2, 1, 3]]
    """
    modules = np.asarray(modules, dtype=bool)
    padded = np.zeros((modules.shape[0], modules.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = modules
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return np.stack([rows, starts, ends - starts], axis=1).astype(np.int32)


# --------------------------------------------------------------------------- backends
def pdf_ops(runs: np.ndarray) -> str:
    """PDF path operators filling ``runs`` (module units, y down; the caller's ``cm`` scales and places them).

    >>> pdf_ops(np.array([[0, 0, 2], [2, 1, 3]]))
    '0 0 2 1 re 1 2 3 1 re f'
    """
    return " ".join(f"{c} {r} {n} 1 re" for r, c, n in np.asarray(runs).tolist()) + " f"


def svg_path_d(runs: np.ndarray) -> str:
    """SVG path data of ``runs`` (module units, y down; scale with a ``transform``).

    >>> svg_path_d(np.array([[0, 0, 2], [2, 1, 3]]))
    'M0 0h2v1h-2zM1 2h3v1h-3z'
    """
    return "".join(f"M{c} {r}h{n}v1h-{n}z" for r, c, n in np.asarray(runs).tolist())


def mpl_path(runs: np.ndarray, *, x0: float, top: float, module: float):
    """One matplotlib ``Path`` of ``runs`` for axes with y up.

    Parameters
    ----------
    runs
        From :func:`module_runs`.
    x0, top
        Where the symbol's top-left corner (inside the quiet zone) goes, in data units.
    module
        Side of one module, in data units.
    """
    from matplotlib.path import Path as MplPath

    runs = np.asarray(runs, dtype=float).reshape(-1, 3)
    xa = x0 + runs[:, 1] * module
    xb = xa + runs[:, 2] * module
    yb = top - runs[:, 0] * module
    ya = yb - module
    verts = np.stack(
        [
            np.stack([xa, ya], 1),
            np.stack([xb, ya], 1),
            np.stack([xb, yb], 1),
            np.stack([xa, yb], 1),
            np.stack([xa, ya], 1),
        ],
        axis=1,
    ).reshape(-1, 2)
    codes = np.tile([MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY], len(runs))
    return MplPath(verts, codes.astype(MplPath.code_type))
