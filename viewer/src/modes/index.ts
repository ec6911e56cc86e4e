import type { ModeId } from '../state';
import { coverageMode } from './coverage';
import { emergencyMode } from './emergency';
import { mapMode } from './map';
import { planMode } from './plan';
import type { Mode } from './types';

export const modes: Record<ModeId, Mode> = {
  plan: planMode,
  coverage: coverageMode,
  emergency: emergencyMode,
  map: mapMode,
};
