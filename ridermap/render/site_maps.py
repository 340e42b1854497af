"""folium maps of the rider site: offline Leaflet, optional basemaps, layer groups.

folium builds the map object, its layer groups, layer control, basemap
tiles and initial view. The features themselves are drawn in the browser by
``site.js`` from the page's escaped JSON (see :mod:`ridermap.render.site_data`),
so no name from the data ever passes through folium's unescaped templates.

folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs;
here :attr:`SiteMap.default_js` / ``default_css`` point at the vendored
Leaflet in ``assets/`` and nothing else.

Element ids: folium names every element (``map_<32 random hex>``), so two
builds of one page would differ. :func:`stable_ids` numbers the elements
created (and rendered) inside it instead; :func:`site_map` and
:func:`render_map_parts` use it, so a page is byte-identical for the same
inputs. The ids only need to be unique within one page.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import branca.element as _branca_element
import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.template import Template
from folium.utilities import camelize

from ridermap.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["BASEMAPS", "SiteMap", "Layer", "site_map", "render_map_parts", "MapParts", "stable_ids"]

_ids = threading.local()
_random_id = Element.__dict__["_generate_id"]


def _generate_id(cls) -> str:
    counter = getattr(_ids, "counter", None)
    if counter is None:  # outside stable_ids: folium's own random ids
        return _random_id.__func__(cls)
    return f"{_ids.prefix}{next(counter)}"


class _Rendered(Element):
    """Text a macro has already rendered, kept as is.

    branca's ``MacroElement.render`` wraps each rendered header/html/script
    part in ``Element(text)``, which compiles that text as a Jinja template and
    renders it a second time: slow (a template compile per part, about a fifth
    of a rider site's time) and unsafe, since data text inside a part (a
    popup's name ``{{7*7}}``) would be evaluated on the build machine.
    """

    def __init__(self, text: str) -> None:
        super().__init__()  # takes an id like the Element it replaces, so ids do not shift
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


def _render_macro(self, **kwargs) -> None:
    """``MacroElement.render`` with each rendered part added as :class:`_Rendered` (never re-rendered)."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    macros = self._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = macros.get(part)
        if macro is not None:
            getattr(figure, part).add_child(_Rendered(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


MacroElement.render = _render_macro  # type: ignore[method-assign]  # see _Rendered; subclasses' super().render() too
# every template asks each element its name; branca re-derives it from the class name each time (pure, few inputs)
_branca_element._camelify = lru_cache(maxsize=1024)(_branca_element._camelify)


@contextmanager
def stable_ids(prefix: str = "e") -> Iterator[None]:
    """Within this block, folium/branca elements get ids ``<prefix>0``, ``<prefix>1``, … in creation order.

    Deterministic code then gives identical pages. Per thread, so parallel
    renders do not interleave; blocks may nest (the inner one continues
    with its own prefix and restores the outer count when it ends).

    Parameters
    ----------
    prefix
        Start of every id (letters and digits; distinct prefixes keep ids
        of separately created parts of one page apart).
    """
    if Element.__dict__["_generate_id"] is _random_id:  # install once: thread-local, so safe to keep
        Element._generate_id = classmethod(_generate_id)  # type: ignore[method-assign,assignment]  # see module doc
    saved = getattr(_ids, "counter", None), getattr(_ids, "prefix", "")
    _ids.counter, _ids.prefix = itertools.count(), prefix
    try:
        yield
    finally:
        _ids.counter, _ids.prefix = saved


@dataclass(frozen=True)
class _Tiles:
    url: str
    attr: str
    subdomains: str = "abc"
    max_zoom: int = 18
    crs_note: str = "wgs84"  # or "gcj02"


#: optional basemaps (``--basemap``); ``{key}`` is the Tianditu key
BASEMAPS: dict[str, tuple[_Tiles, ...]] = {
    "osm": (
        _Tiles(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
            "abc",
            19,
        ),
    ),
    "amap": (
        _Tiles(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            "&copy; 高德地图 AutoNavi",
            "1234",
            18,
            "gcj02",
        ),
    ),
    "tencent": (
        _Tiles(
            "https://rt{s}.map.gtimg.com/realtimerender?z={z}&x={x}&y={-y}&type=vector&style=0",
            "&copy; 腾讯地图 Tencent",
            "0123",
            18,
            "gcj02",
        ),
    ),
    "tianditu": (
        _Tiles(
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
            "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
            "&copy; 天地图 Tianditu",
            "01234567",
            18,
        ),
        _Tiles(
            "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva&STYLE=default"
            "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
            "&copy; 天地图 Tianditu",
            "01234567",
            18,
        ),
    ),
}


class SiteMap(folium.Map):
    """A folium Map for the rider site: local Leaflet only, no page-wide styles.

    folium's own header (``html, body {height: 100%}``, absolute map
    position, touch switches) is dropped: the page's stylesheet lays the map
    out. Assets are set per instance from ``prefix`` (the way back to the
    site root, e.g. ``"../"``).
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
            <div class="rm-map" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    {%- for key, value in this.js_options.items() %}
                    {{ key }}: {{ value|tojson }},
                    {%- endfor %}
                }
            );
        {% endmacro %}
        """
    )

    def __init__(self, *, prefix: str, **kwargs) -> None:
        super().__init__(tiles=None, **kwargs)
        self.default_js = [("leaflet", f"{prefix}assets/leaflet.js"), ("ridermap", f"{prefix}assets/site.js")]
        self.default_css = [("leaflet_css", f"{prefix}assets/leaflet.css")]

    @property
    def js_options(self) -> dict:
        """Leaflet map options with camelCase keys (written out: no ES2018 spread for old phones)."""
        return {camelize(k): v for k, v in self.options.items()}


class _Draw(MacroElement):
    """Calls ``RM.draw(map, {layer key: feature group})`` once the map exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RM.draw({{ this._parent.get_name() }}, {
            {%- for key, group in this.groups.items() %}
                {{ key|tojson }}: {{ group.get_name() }},
            {%- endfor %}
            });
        {% endmacro %}
        """
    )

    def __init__(self, groups: dict[str, folium.FeatureGroup]) -> None:
        super().__init__()
        self._name = "RiderDraw"
        self.groups = groups


@dataclass(frozen=True)
class Layer:
    """A layer group: key (used by ``site.js``), labels and whether it shows at first."""

    key: str
    zh: str
    en: str
    show: bool = True


def site_map(
    *,
    prefix: str,
    bounds: list[list[float]] | None,
    layers: list[Layer],
    basemap: str | None = None,
    tianditu_key: str = "",
) -> SiteMap:
    """Build a page's folium map: layer groups, layer control, optional basemap.

    Parameters
    ----------
    prefix
        Relative way from the page to the site root (``""`` or ``"../"``).
    bounds
        ``[[south, west], [north, east]]`` to fit at first, or ``None``.
    layers
        Overlay groups, in control order; ``site.js`` fills them.
    basemap
        ``None`` (no tiles: nothing is loaded from the network), ``"osm"``,
        ``"amap"``, ``"tencent"`` (GCJ-02: overlays must be shifted) or
        ``"tianditu"`` (needs ``tianditu_key``).
    tianditu_key
        The user's Tianditu key.

    Returns
    -------
    SiteMap
    """
    with stable_ids("m"):
        return _site_map(prefix=prefix, bounds=bounds, layers=layers, basemap=basemap, tianditu_key=tianditu_key)


def _site_map(
    *, prefix: str, bounds: list[list[float]] | None, layers: list[Layer], basemap: str | None, tianditu_key: str
) -> SiteMap:
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else None
    fmap = SiteMap(prefix=prefix, location=centre, zoom_start=17, zoom_snap=0.5)
    # no fades: less work on cheap phones, and a closed popup leaves the page at once
    fmap.options.update(min_zoom=3, max_zoom=20, fade_animation=False)
    if basemap:
        if basemap not in BASEMAPS:
            raise ConfigError(f"unknown basemap {basemap!r} (known: {', '.join(BASEMAPS)})")
        if basemap == "tianditu" and not tianditu_key:
            raise ConfigError("basemap 'tianditu' needs a Tianditu key (--tianditu-key or TIANDITU_KEY)")
        for i, tiles in enumerate(BASEMAPS[basemap]):
            folium.TileLayer(
                tiles=tiles.url.replace("{key}", tianditu_key),
                attr=tiles.attr,
                subdomains=tiles.subdomains,
                max_zoom=20,
                max_native_zoom=tiles.max_zoom,
                name=f"{basemap}{i}",
                control=False,
            ).add_to(fmap)
    groups = {}
    for layer in layers:
        name = f'<span lang="zh-CN">{layer.zh}</span><span lang="en">{layer.en}</span>'
        groups[layer.key] = folium.FeatureGroup(name=name, show=layer.show).add_to(fmap)
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    if bounds:
        # the first view is not animated: the markers are placed once it stands (site.js)
        first_view = folium.FitBounds(bounds, padding=(12, 12))
        first_view.options["animate"] = False
        fmap.add_child(first_view)
    fmap.add_child(_Draw(groups))  # type: ignore[arg-type]  # FeatureGroup.add_to returns the group
    return fmap


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for the page template: CSS links, the map div, JS links, the script."""

    css: str
    html: str
    js: str
    script: str


def render_map_parts(fmap: folium.Map) -> MapParts:
    """Render a folium map into the pieces a page places itself."""
    figure = fmap.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("the map is not in a folium Figure")
    with stable_ids("r"):  # elements folium creates while rendering
        for child in figure._children.values():
            child.render()
    css, js = [], []
    for child in figure.header._children.values():
        if isinstance(child, CssLink):
            css.append(child.render())
        elif isinstance(child, JavascriptLink):
            js.append(child.render())
    return MapParts(
        css="\n".join(css),
        html=_compact(figure.html.render()),
        js="\n".join(js),
        script=_compact(figure.script.render()),
    )


def _compact(code: str) -> str:
    """Drop folium's indentation and blank lines (bytes matter on a weak connection)."""
    return "\n".join(line.strip() for line in code.splitlines() if line.strip())
