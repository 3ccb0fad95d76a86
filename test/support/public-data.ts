import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** Path of a file shipped in the `vega-datasets` npm package (its `exports` hide data/ from require). */
export function publicDatasetPath(file: string): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', file);
}
