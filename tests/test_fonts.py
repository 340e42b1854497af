"""The one font loader (ridermap.render.fonts): read once, no file left open, one shared reader."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from ridermap.render import fonts


def _open_count(path: Path) -> int:
    """How many file descriptors of this process point at ``path``.

    matplotlib keeps the fonts it has drawn with open (its own cache), so the
    test compares counts before and after, not "is it open at all".
    """
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("no /proc/self/fd on this system")
    target = str(path.resolve())
    count = 0
    for fd in fd_dir.iterdir():
        try:
            count += os.readlink(fd) == target
        except OSError:
            pass
    return count


@pytest.fixture
def fresh_loader():
    """Forget what the loader cached, and forget it again afterwards."""
    caches = (fonts._font_bytes, fonts._shared_font, fonts._cmap)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def test_the_font_file_is_read_once_and_closed(fresh_loader, monkeypatch):
    path = fonts.cjk_font_path()
    reads = []
    real = Path.read_bytes

    def counting(self):
        reads.append(str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    gc.collect()
    before = _open_count(path)
    shared = fonts.shared_font()
    assert fonts.shared_font(path) is shared  # the default and the explicit path are one font
    fonts.missing_glyphs("锦华苑")
    with fonts.open_font() as private:
        assert private is not shared and private["head"].unitsPerEm == shared["head"].unitsPerEm
    from ridermap.render.doorplate.pdf import CidFont

    CidFont(path).subset_cff(frozenset("锦华苑"))
    assert reads == [str(path)]
    gc.collect()
    assert _open_count(path) == before


def test_no_resource_warning_from_any_font_reader(fresh_loader, recwarn):
    import warnings

    from ridermap.render.doorplate.layout import default_font

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        fonts.missing_glyphs("骑手")
        fonts.cap_height_em()
        default_font().outline("骑")
        with fonts.open_font():
            pass
        gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_glyph_coverage_and_metrics_come_from_the_shared_font():
    font = fonts.shared_font()
    cmap = font.getBestCmap()
    assert ord("锦") in cmap and fonts.missing_glyphs("锦\U0001f600") == "\U0001f600"
    cap = fonts.cap_height_em()
    assert 0.5 < cap < 0.9
    if font["name"].getDebugName(6) and "NotoSansSC" in font["name"].getDebugName(6):
        assert cap == pytest.approx(0.733, abs=0.002)
