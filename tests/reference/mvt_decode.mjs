// Decodes vector tiles with Mapbox's own JS decoder (@mapbox/vector-tile,
// the one MapLibre is built on) and prints, per tile and layer, the
// feature count, the attribute names, the geometry types and each
// feature's properties and lon/lat bounds, as JSON on stdout.
//
//   node tests/reference/mvt_decode.mjs z/x/y.mvt [...]
// (paths must end in z/x/y.mvt; a gzip tile is inflated first)

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { VectorTile } from '@mapbox/vector-tile';
import Pbf from 'pbf';

const out = {};
for (const path of process.argv.slice(2)) {
  const m = path.match(/(\d+)\/(\d+)\/(\d+)\.(mvt|pbf)$/);
  if (!m) throw new Error(`${path}: expected a z/x/y.mvt path`);
  const [z, x, y] = m.slice(1, 4).map(Number);
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const tile = new VectorTile(new Pbf(buf));
  const layers = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    const keys = new Set();
    const types = new Set();
    const features = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      Object.keys(f.properties).forEach((k) => keys.add(k));
      const g = f.toGeoJSON(x, y, z);
      types.add(g.geometry.type);
      const xs = [];
      const ys = [];
      const walk = (c) => (typeof c[0] === 'number' ? (xs.push(c[0]), ys.push(c[1])) : c.forEach(walk));
      walk(g.geometry.coordinates);
      features.push({
        id: f.id,
        properties: f.properties,
        bbox: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
      });
    }
    layers[name] = {
      extent: layer.extent,
      count: layer.length,
      keys: [...keys].sort(),
      types: [...types].sort(),
      features,
    };
  }
  out[`${z}/${x}/${y}`] = layers;
}
process.stdout.write(JSON.stringify(out));
