// The colours that tell the map's kinds of line apart, in one place:
// grids (the structure, one teal family, darker = coarser), the selection
// (what the user picked, in any mode: orange, drawn over a white halo) and
// dispatch (应急: who goes where, indigo and blue; a plan's walking routes
// fuchsia, unlike the blue region boundaries they run along). Each mode
// draws with these, never its own hex codes, and `clashes` keeps the three
// groups far apart (the browser tests assert it finds none).

/** Region (administrative) boundaries. */
export const REGION = '#3b6fb6';

/** Grid lines and labels by level; the plan mode's outlines too. */
export const GRID = { 1: '#134e4a', 2: '#0f766e', 3: '#2a9d8f' } as const;

/** The grid or region picked (plan selection, region list, search). */
export const SELECTION = '#f97316';

/** 应急 dispatch: lines to the nearest volunteers, volunteers, the hazard area, a plan's walking routes. */
export const DISPATCH = { line: '#4338ca', volunteer: '#1d4ed8', area: '#be123c', unserved: '#7e22ce', route: '#d946ef' } as const;

/** The groups that must never be confused, by name. */
export const GROUPS: Record<string, string[]> = {
  grid: Object.values(GRID),
  selection: [SELECTION],
  dispatch: Object.values(DISPATCH),
};

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * A perceptual distance (the "redmean" weighting of RGB): about 0 for the
 * same colour, over 150 for colours nobody mixes up at a glance.
 */
export function distance(a: string, b: string): number {
  const [r1, g1, b1] = rgb(a);
  const [r2, g2, b2] = rgb(b);
  const rm = (r1 + r2) / 2;
  const [dr, dg, db] = [r1 - r2, g1 - g2, b1 - b2];
  return Math.sqrt((2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db);
}

/** Pairs of colours of different groups closer than `min`. */
export function clashes(min = 150): string[] {
  const out: string[] = [];
  const names = Object.keys(GROUPS);
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++)
      for (const a of GROUPS[names[i]])
        for (const b of GROUPS[names[j]]) if (distance(a, b) < min) out.push(`${names[i]} ${a} ~ ${names[j]} ${b}`);
  return out;
}
