import type { Suite, SuiteResult } from '../harness';
import { measureDriftSoundness } from '../soundness/drift';
import { measureGateSoundness } from '../soundness/gate';

/**
 * How often trainyard's automatic decisions are wrong: the gate (bless / reject) on shuffled labels,
 * genuine improvements and fresh retrains; the drift check on stationary data and planted shifts. Each
 * rate is a count over many random draws with a 95% Wilson interval, beside the former fixed-threshold
 * rules measured on the same draws ("before" rows). `SOUNDNESS_PART=gate|drift` runs one half.
 */
const suite: Suite = {
  description: 'false positives and power of the gate and the drift check, with intervals, before vs now',
  async run(): Promise<SuiteResult> {
    const part = process.env.SOUNDNESS_PART;
    const parts = [
      part !== 'drift' ? await measureGateSoundness() : undefined,
      part !== 'gate' ? await measureDriftSoundness() : undefined,
    ].filter((p): p is SuiteResult => p !== undefined);
    return {
      rows: parts.flatMap((p) => p.rows),
      notes: parts.flatMap((p) => p.notes ?? []),
      meta: Object.assign({}, ...parts.map((p) => p.meta ?? {})),
    };
  },
};

export default suite;
