"""QGIS itself against wangge (issue 24), headless (QT_QPA_PLATFORM=offscreen).

Usage: qgis_client.py STORE.gpkg OGC_URL TILES_URL USER TOKEN OUT.png COUNTS_JSON

Opens every layer named in COUNTS_JSON from the GeoPackage and as an OGC
API collection with a Basic authentication configuration (user and API
token, as a QGIS user sets it up), and the vector tile sources with the
same configuration; counts the features QGIS reads; renders the
GeoPackage's layers, the current plan's grids from the OGC API (when
asked for) and the tiles to a PNG. Each tile source is also drawn alone,
and once more without the authentication configuration (the server
refuses it: nothing may be drawn), which shows QGIS fetched and decoded
the tiles: QGIS 3.22 gives Python no way to fetch or decode one tile
itself, so pixels are the proof. Prints one JSON line last:
{"gpkg": {layer: n}, "ogc": {layer: n}, "tiles": {source: valid},
"tile_painted": {source: pixels}, "tile_painted_anonymous": pixels,
"painted": pixels}.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math  # noqa: E402

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsAuthMethodConfig,
    QgsFillSymbol,
    QgsMapRendererCustomPainterJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsTileXYZ,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage, QPainter  # noqa: E402


def tile_of(lon, lat, z):
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * n)
    return x, y


def tile_layer_names(layer, x, y, z):
    """The layers of one tile as QGIS fetches (with the layer's
    authentication) and decodes it; the API differs across QGIS versions."""
    tile = QgsTileXYZ(x, y, z)
    if not hasattr(layer, "getRawTile"):
        # QGIS 3.22 exposes no tile fetch to Python: validity only.
        return ["*"]
    raw = layer.getRawTile(tile)
    try:
        from qgis.core import QgsVectorTileMVTDecoder
    except ImportError:
        # Not in this QGIS's Python API: the tile fetched with the Basic
        # configuration is not empty, and the layer is asked for by name.
        return ["*"] if raw is not None and len(bytes(raw)) > 0 else []
    try:
        dec = QgsVectorTileMVTDecoder(layer.tileMatrixSet())
    except (TypeError, AttributeError):
        dec = QgsVectorTileMVTDecoder()
    try:
        ok = dec.decode(tile, raw)
    except TypeError:
        ok = dec.decode(raw)
    return sorted(dec.layers()) if ok else []


def painted_alone(layer, frame):
    """Pixels (of a 1-in-16 sample) a tile layer paints on white when QGIS
    draws it alone over `frame`'s extent at 512 × 512."""
    if not layer.isValid():
        return 0
    style = QgsVectorTileBasicRenderer.simpleStyleWithRandomColors()
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles(style)
    layer.setRenderer(renderer)
    extent = QgsRectangle(frame.extent())
    extent.scale(1.05)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(frame.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(255, 255, 255))
    img = QImage(QSize(512, 512), QImage.Format_ARGB32_Premultiplied)
    img.fill(QColor(255, 255, 255))
    painter = QPainter(img)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    job.renderSynchronously()
    painter.end()
    white = QColor(255, 255, 255).rgb()
    return sum(
        1
        for x in range(0, img.width(), 4)
        for y in range(0, img.height(), 4)
        if img.pixel(x, y) != white
    )


def main():
    store, ogc, tiles, user, token, png, counts = sys.argv[1:8]
    layers = list(json.loads(counts).keys())
    profile = tempfile.mkdtemp(prefix="qgis-profile-")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = profile
    app = QgsApplication([], False, profile)
    app.initQgis()

    # A Basic authentication configuration, as a user makes one in
    # Settings > Options > Authentication: the API token is the password.
    am = QgsApplication.authManager()
    am.setMasterPassword("wangge-test", True)
    cfg = QgsAuthMethodConfig()
    cfg.setName("wangge")
    cfg.setMethod("Basic")
    cfg.setConfig("username", user)
    cfg.setConfig("password", token)
    stored = am.storeAuthenticationConfig(cfg)
    if isinstance(stored, tuple):  # QGIS >= 3.34 returns (ok, config)
        stored, cfg = stored
    assert stored, "the Basic configuration is stored"
    authcfg = cfg.id()

    out = {"gpkg": {}, "ogc": {}, "tiles": {}}
    gpkg_layers = []
    for name in layers:
        lyr = QgsVectorLayer(f"{store}|layername={name}", name, "ogr")
        assert lyr.isValid(), f"GeoPackage layer {name} is valid"
        out["gpkg"][name] = sum(1 for _ in lyr.getFeatures())
        gpkg_layers.append(lyr)

    ogc_layers = []
    for name in layers:
        uri = (
            f"url='{ogc}' typename='{name}' authcfg='{authcfg}' "
            "pagingEnabled='true' pageSize='1000' restrictToRequestBBOX='0'"
        )
        lyr = QgsVectorLayer(uri, f"ogc {name}", "OAPIF")
        assert lyr.isValid(), f"OGC collection {name} is valid: {lyr.error().summary()}"
        ids = [f.id() for f in lyr.getFeatures()]
        # QGIS keeps one feature per id: unique ids or lost features.
        assert len(set(ids)) == len(ids), f"{name}: repeated feature ids"
        out["ogc"][name] = len(ids)
        ogc_layers.append(lyr)

    # Vector tiles: a tile at the households' centre, fetched with the
    # Basic configuration and decoded by QGIS, holds the source's layer.
    households = next(layer for layer in gpkg_layers if layer.name() == "households")
    c = households.extent().center()
    x, y = tile_of(c.x(), c.y(), 14)
    tile_layers = []
    for source, want in [("basemap", "roads"), ("regions", "regions"), ("atoms", "atoms")]:
        uri = f"type=xyz&url={tiles}/{source}/{{z}}/{{x}}/{{y}}.mvt&zmin=0&zmax=18&authcfg={authcfg}"
        lyr = QgsVectorTileLayer(uri, f"tiles {source}")
        names = tile_layer_names(lyr, x, y, 14) if lyr.isValid() else []
        out["tiles"][source] = lyr.isValid() and (want in names or names == ["*"])
        out.setdefault("tile_layers", {})[source] = names
        tile_layers.append(lyr)

    # Each tile source drawn alone over the regions, with the renderer a
    # QGIS user gets (random colours per layer, polygons filled); then the
    # grids without credentials, refused by the server: a blank map.
    regions = next(layer for layer in gpkg_layers if layer.name() == "regions")
    out["tile_painted"] = {}
    for lyr, source in zip(tile_layers, ["basemap", "regions", "atoms"]):
        out["tile_painted"][source] = painted_alone(lyr, regions)
    grids_uri = f"type=xyz&url={tiles}/grids/{{z}}/{{x}}/{{y}}.mvt&zmin=0&zmax=18"
    grids = QgsVectorTileLayer(f"{grids_uri}&authcfg={authcfg}", "tiles grids")
    out["tiles"]["grids"] = grids.isValid()
    out["tile_painted"]["grids"] = painted_alone(grids, regions)
    anonymous = QgsVectorTileLayer(grids_uri, "tiles grids, no credentials")
    out["tile_painted_anonymous"] = painted_alone(anonymous, regions)

    # Render: tiles under the GeoPackage's regions and atoms, and the
    # current plan's grids as the OGC API serves them.
    for lyr in gpkg_layers + ogc_layers + tile_layers:
        QgsProject.instance().addMapLayer(lyr, False)
    extent = QgsRectangle(regions.extent())
    extent.scale(1.05)
    settings = QgsMapSettings()
    drawn = [
        layer for layer in gpkg_layers if layer.name() in ("regions", "atoms", "waterways", "water")
    ]
    # The current plan's grids on top, as red outlines.
    plan = [layer for layer in ogc_layers if layer.name() == "ogc plan_grids_current"]
    for layer in plan:
        layer.renderer().setSymbol(
            QgsFillSymbol.createSimple(
                {"style": "no", "outline_color": "220,30,30", "outline_width": "0.6"}
            )
        )
    settings.setLayers(plan + drawn + tile_layers)
    settings.setDestinationCrs(regions.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(1024, 1024))
    settings.setBackgroundColor(QColor(255, 255, 255))
    # In this thread: tiles are fetched by blocking requests as it draws.
    img = QImage(QSize(1024, 1024), QImage.Format_ARGB32_Premultiplied)
    img.fill(QColor(255, 255, 255))
    painter = QPainter(img)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    job.renderSynchronously()
    painter.end()
    img.save(png, "PNG")
    white = QColor(255, 255, 255).rgb()
    painted = sum(
        1
        for x in range(0, img.width(), 4)
        for y in range(0, img.height(), 4)
        if img.pixel(x, y) != white
    )
    out["painted"] = painted
    print(json.dumps(out))
    app.exitQgis()


if __name__ == "__main__":
    main()
