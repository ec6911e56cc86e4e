// Which modes a role may use and where it lands: the server's access table
// (api/mod.rs: PLAN_READ, COVERAGE, LEDGER, EMERGENCY) seen from the viewer. A mode
// the role cannot use is not offered at all.

import type { ModeId } from '../state';

const ALLOWED: Record<string, ModeId[]> = {
  admin: ['plan', 'coverage', 'ledger', 'emergency'],
  planner: ['plan', 'coverage'],
  office: ['coverage', 'ledger', 'plan', 'emergency'],
  emergency: ['emergency'],
};

/** The modes of `role`, the landing one first; the public map (`viewer`) has the map alone. */
export function allowedModes(role: string): ModeId[] {
  return ALLOWED[role] ?? ['map'];
}

/** Where `role` starts: its daily work (office 覆盖, emergency 应急, planner 规划). */
export function landingMode(role: string): ModeId {
  return allowedModes(role)[0];
}
