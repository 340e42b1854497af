"""The direct poster PDF writer (issue 10, speed): the same page as matplotlib's PDF backend, faster.

Each poster PDF is rasterised with ``pdftoppm`` next to the PDF matplotlib
writes of the same Figure, and the two rasters must agree to the pixel but
for anti-aliasing and sub-pixel glyph positions (matplotlib hints text at
72 dpi). Text stays searchable (pdftotext), the font embedded (pdffonts), the
bytes reproducible, and anything the writer does not draw falls back to
matplotlib instead of losing a mark.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from ridermap.publish.posters import _direct_pdf, save_poster
from ridermap.render.fonts import font_family
from ridermap.render.pdf_figure import Unsupported, figure_pdf
from ridermap.render.poster import render_poster
from ridermap.render.poster_page import MEASURE_DPI, measuring_renderer

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")


def _raster(pdf: Path, dpi: int = 50) -> np.ndarray:
    stem = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(stem)], check=True, timeout=120)
    return np.asarray(Image.open(f"{stem}.png").convert("RGB")).astype(int)


def _matplotlib_pdf(poster, path: Path) -> Path:
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        poster.figure.savefig(path, format="pdf", dpi=72, facecolor=poster.figure.get_facecolor())
    return path


def _assert_same_page(direct: Path, reference: Path) -> None:
    a, b = _raster(direct), _raster(reference)
    assert a.shape == b.shape
    diff = np.abs(a - b).max(axis=2)
    # anti-aliasing and hinting move edges by a pixel; a lost or misplaced mark changes a blob of pixels
    assert diff.mean() < 2.0, f"mean difference {diff.mean():.2f}"
    assert (diff > 96).mean() < 0.01, f"{(diff > 96).mean():.3%} of pixels differ strongly"


def _posters(bundle, config, cid: str):
    gates = list(bundle.community(cid).gates["id"])
    yield render_poster(bundle, cid, config=config, paper="A2")
    yield render_poster(bundle, cid, gate=gates[0], config=config, paper="A2", draft=True)  # the draft band too
    yield render_poster(bundle, cid, gate=gates[-1], config=config, paper="A3", bleed_mm=3.0, crop_marks=True)


def test_sample_posters_are_the_page_matplotlib_draws(sample_bundle, sample_config, tmp_path):
    for k, poster in enumerate(_posters(sample_bundle, sample_config, "510104-jhy")):
        data = _direct_pdf(poster)
        assert data is not None, "the sample's posters hold only what the direct writer draws"
        direct = tmp_path / f"direct{k}.pdf"
        direct.write_bytes(data)
        _assert_same_page(direct, _matplotlib_pdf(poster, tmp_path / f"mpl{k}.pdf"))


def test_bupt_posters_are_the_page_matplotlib_draws(bupt_bundle, sample_config, tmp_path):
    cid = "110108-w1376112785"
    for k, poster in enumerate(_posters(bupt_bundle, sample_config, cid)):
        data = _direct_pdf(poster)
        assert data is not None
        direct = tmp_path / f"direct{k}.pdf"
        direct.write_bytes(data)
        _assert_same_page(direct, _matplotlib_pdf(poster, tmp_path / f"mpl{k}.pdf"))


def test_text_is_searchable_fonts_embedded_boxes_set_and_bytes_reproducible(sample_bundle, sample_config, tmp_path):
    gate = sample_bundle.community("510104-jhy").gates["id"].iloc[0]
    poster = render_poster(
        sample_bundle, "510104-jhy", gate=gate, config=sample_config, paper="A3", bleed_mm=3.0, crop_marks=True
    )
    first = save_poster(poster, tmp_path / "a.pdf")
    second = save_poster(poster, tmp_path / "b.pdf")
    assert first.read_bytes() == second.read_bytes()
    text = subprocess.run(["pdftotext", str(first), "-"], capture_output=True, text=True, check=True).stdout
    assert "锦华苑" in text and "南门" in text
    fonts = subprocess.run(["pdffonts", str(first)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all("NotoSansSC" in r and r.split()[-5:-2] == ["yes", "yes", "yes"] for r in rows), fonts
    info = subprocess.run(["pdfinfo", "-box", str(first)], capture_output=True, text=True, check=True).stdout
    pt = 72.0 / 25.4
    trim = [float(v) for v in next(line for line in info.splitlines() if line.startswith("TrimBox")).split()[1:]]
    assert trim == pytest.approx([v * pt for v in poster.trim_box], abs=0.01)
    assert b"CreationDate" not in first.read_bytes()


def _text_figure(text: str) -> Figure:
    fig = Figure(figsize=(30, 2), dpi=MEASURE_DPI)  # 300 characters at 6 pt fit across
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.text(0.01, 0.5, text, fontsize=6, fontfamily=font_family(), parse_math=False)
    return fig


def test_more_than_255_characters_use_several_fonts_and_copy_back(tmp_path):
    text = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 300))  # 300 distinct CJK characters
    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(figure_pdf(_text_figure(text), measure_renderer=measuring_renderer(), title="t"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(fonts.splitlines()[2:]) == 2
    got = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "".join(got.split()) == text


def test_what_the_writer_does_not_draw_falls_back_to_matplotlib(sample_bundle, sample_config, tmp_path):
    fig = _text_figure("锦华苑")
    fig.axes[0].imshow(np.zeros((2, 2)), extent=(0.5, 0.6, 0.2, 0.4))
    with pytest.raises(Unsupported, match="AxesImage"):
        figure_pdf(fig, measure_renderer=measuring_renderer(), title="t")
    with pytest.raises(Unsupported, match="glyph"):  # a character the font lacks: never a silently dropped glyph
        figure_pdf(_text_figure("a\U0001f600"), measure_renderer=measuring_renderer(), title="t")
    poster = render_poster(sample_bundle, "510104-jhy", config=sample_config, paper="A2")
    poster.figure.axes[0].imshow(np.zeros((2, 2)), extent=(10, 20, 10, 20), zorder=0)
    assert _direct_pdf(poster) is None
    path = save_poster(poster, tmp_path / "fallback.pdf")
    assert b"Matplotlib" in path.read_bytes()  # matplotlib's backend wrote it, image and all


# --------------------------------------------------------------------------- any Figure, through matplotlib's draw


def _sign_plan(bundle, cid):
    from ridermap.analysis.context import Analysis
    from ridermap.render.signs_map import sign_plan_figure

    view = bundle.community(cid)
    return sign_plan_figure(Analysis(view).sign_plan(view, cid), view, language="zh", draft=True)


def _gap_map(bundle, config, cid):
    from ridermap.publish.gaps import analyse_gaps, gap_slices
    from ridermap.render.gapmap import slice_figure

    part = next(iter(gap_slices(analyse_gaps(bundle, config=config), bundle, [cid])))
    return slice_figure(part[1] if isinstance(part, tuple) else part, language="zh", draft=True)


@pytest.mark.parametrize("which", ["sign plan", "gap map"])
def test_figures_with_axes_legends_and_annotations_are_the_page_matplotlib_draws(
    which, sample_bundle, sample_config, tmp_path
):
    from ridermap.render.pdf_figure import drawn_pdf

    make = {"sign plan": lambda: _sign_plan(sample_bundle, "510104-jhy"), "gap map": lambda: _gap_map(
        sample_bundle, sample_config, "510104-jhy")}[which]  # fmt: skip
    direct = tmp_path / "direct.pdf"
    direct.write_bytes(drawn_pdf(make(), title=which))
    reference = tmp_path / "mpl.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        make().savefig(reference, format="pdf")
    _assert_same_page(direct, reference)
    text = subprocess.run(["pdftotext", str(direct), "-"], capture_output=True, text=True, check=True).stdout
    assert "锦华苑" in text or "南门" in text


def test_bupt_gap_map_is_the_page_matplotlib_draws(bupt_bundle, sample_config, tmp_path):
    from ridermap.render.pdf_figure import drawn_pdf

    direct = tmp_path / "direct.pdf"
    direct.write_bytes(drawn_pdf(_gap_map(bupt_bundle, sample_config, "110108-w1376112785"), title="bupt"))
    reference = tmp_path / "mpl.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 3}):
        _gap_map(bupt_bundle, sample_config, "110108-w1376112785").savefig(reference, format="pdf")
    _assert_same_page(direct, reference)


def test_a_figure_with_an_image_is_written_by_matplotlib(tmp_path):
    from ridermap.publish.figures import write_figure_pdf
    from ridermap.render.pdf_figure import drawn_pdf

    fig = Figure(figsize=(4, 3))
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.imshow(np.arange(4.0).reshape(2, 2))
    ax.set_title("锦华苑", fontfamily=font_family())
    with pytest.raises(Unsupported, match="image"):
        drawn_pdf(fig, title="t")
    path = write_figure_pdf(fig, tmp_path / "img.pdf", title="t")
    assert b"Matplotlib" in path.read_bytes() and b"/Subtype /Image" in path.read_bytes()
