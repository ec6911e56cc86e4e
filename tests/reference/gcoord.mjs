// Reads a JSON array of [lon, lat] on stdin; prints gcoord's conversions of
// each point as JSON. Used by tests/e2e/crs_reference.rs.
import gcoord from 'gcoord';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => (s += d));
  process.stdin.on('end', () => resolve(s));
}));
const t = (p, from, to) => gcoord.transform(p, from, to);
process.stdout.write(JSON.stringify({
  wgs_to_gcj: input.map((p) => t(p, gcoord.WGS84, gcoord.GCJ02)),
  gcj_to_bd: input.map((p) => t(p, gcoord.GCJ02, gcoord.BD09)),
  bd_to_gcj: input.map((p) => t(p, gcoord.BD09, gcoord.GCJ02)),
  wgs_to_bd: input.map((p) => t(p, gcoord.WGS84, gcoord.BD09)),
}));
