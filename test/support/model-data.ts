import { memoryBatchSource, mulberry32 } from '../../lib/model/memory-batch-source';
import type { BatchSource } from '../../lib/data/batches';

/**
 * Small generated problems for model tests, with known answers: two separable blobs (binary), three
 * blobs (multiclass), a noisy linear function (regression), and pure-noise labels (to force overfitting).
 */
export function generatedSplit(
  kind: 'binary' | 'multiclass' | 'regression' | 'noise',
  rows: number,
  seed: number,
  featureCount = 4,
): BatchSource {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x = new Float32Array(rows * featureCount);
  const y = new Float32Array(rows);
  const classCount = kind === 'multiclass' ? 3 : 2;
  for (let r = 0; r < rows; r++) {
    const label = kind === 'regression' ? 0 : Math.floor(random() * classCount);
    for (let f = 0; f < featureCount; f++) {
      const centre =
        kind === 'binary'
          ? (label === 1 ? 2 : -2) * (f === 0 ? 1 : 0.5)
          : kind === 'multiclass'
            ? f === label
              ? 3
              : 0
            : 0;
      x[r * featureCount + f] = centre + gaussian();
    }
    if (kind === 'regression') {
      let target = 1;
      for (let f = 0; f < featureCount; f++) target += (f + 1) * 0.5 * (x[r * featureCount + f] as number);
      y[r] = target + 0.05 * gaussian();
    } else {
      y[r] = label;
    }
  }
  const classes =
    kind === 'regression' ? undefined : kind === 'multiclass' ? ['adelie', 'chinstrap', 'gentoo'] : ['no', 'yes'];
  return memoryBatchSource({ x, y, featureCount, ...(classes ? { classes } : {}) });
}
