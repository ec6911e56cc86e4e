// Small DOM and geometry helpers shared by the plan and coverage modes.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

/** [west, south, east, north] of any geometry, or null when it has no point. */
export function bboxOf(g: GeoJSON.Geometry | null | undefined): [number, number, number, number] | null {
  if (!g) return null;
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const [x, y] = c as number[];
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
      return;
    }
    for (const x of c) visit(x);
  };
  if (g.type === 'GeometryCollection') for (const x of g.geometries) visit((x as GeoJSON.Point).coordinates);
  else visit(g.coordinates);
  return Number.isFinite(b[0]) ? b : null;
}

export function numberFormat(digits = 0): Intl.NumberFormat {
  return new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function pct(x: number, digits = 1): string {
  return `${numberFormat(digits).format(x)}%`;
}

/** Roles that may read plans and coverage (the server's PLAN_READ / COVERAGE). */
export const READ_ROLES = ['admin', 'planner', 'office'];
/** Roles that may generate plans (PLAN_WRITE). */
export const WRITE_ROLES = ['admin', 'planner'];
