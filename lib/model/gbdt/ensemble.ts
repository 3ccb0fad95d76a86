import { z } from 'zod';
import { TaskType } from '../../../contracts/pipeline-input';

/**
 * One regression tree as parallel arrays, node 0 the root. An inner node sends a row left unless its
 * feature is above the threshold (so NaN goes left, as binning puts it in bin 0); a leaf has feature −1
 * and holds its value, shrinkage already applied.
 */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

/**
 * Boosted trees: `outputs` raw scores per row (1, or one per class), each starting at its base score;
 * tree i adds to output i % outputs, so a round of a k-class model is k consecutive trees.
 */
export interface Ensemble {
  task: z.output<typeof TaskType>;
  outputs: number;
  baseScores: number[];
  trees: Tree[];
}

const TreeJson = z.object({
  feature: z.array(z.number().int()),
  threshold: z.array(z.number()),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  value: z.array(z.number()),
});

/** `trees.json`: the ensemble of a model or a checkpoint. JSON keeps every double exactly. */
export const EnsembleJson = z.object({
  format: z.literal('trainyard-gbdt-trees'),
  formatVersion: z.literal(1),
  task: TaskType,
  outputs: z.number().int().positive(),
  baseScores: z.array(z.number()),
  trees: z.array(TreeJson),
});
export type EnsembleJson = z.output<typeof EnsembleJson>;

export function ensembleToJson(ensemble: Ensemble, treeCount = ensemble.trees.length): EnsembleJson {
  return {
    format: 'trainyard-gbdt-trees',
    formatVersion: 1,
    task: ensemble.task,
    outputs: ensemble.outputs,
    baseScores: ensemble.baseScores,
    trees: ensemble.trees.slice(0, treeCount).map((t) => ({
      feature: Array.from(t.feature),
      threshold: Array.from(t.threshold),
      left: Array.from(t.left),
      right: Array.from(t.right),
      value: Array.from(t.value),
    })),
  };
}

export function ensembleFromJson(json: EnsembleJson): Ensemble {
  if (json.baseScores.length !== json.outputs)
    throw new Error(`trees.json has ${json.baseScores.length} base scores for ${json.outputs} outputs`);
  return {
    task: json.task,
    outputs: json.outputs,
    baseScores: json.baseScores,
    trees: json.trees.map((t, i) => {
      const n = t.feature.length;
      if ([t.threshold, t.left, t.right, t.value].some((a) => a.length !== n))
        throw new Error(`tree ${i} in trees.json has arrays of different lengths`);
      return {
        feature: Int32Array.from(t.feature),
        threshold: Float64Array.from(t.threshold),
        left: Int32Array.from(t.left),
        right: Int32Array.from(t.right),
        value: Float64Array.from(t.value),
      };
    }),
  };
}

/** The leaf a row-major row reaches. */
export function leafOf(tree: Tree, x: Float32Array, rowOffset: number): number {
  let node = 0;
  while ((tree.feature[node] as number) >= 0) {
    const value = x[rowOffset + (tree.feature[node] as number)] as number;
    node = value > (tree.threshold[node] as number) ? (tree.right[node] as number) : (tree.left[node] as number);
  }
  return node;
}

/**
 * Raw scores (rows × outputs, row-major) of row-major features: base scores plus every tree, added in
 * tree order — the order training added them, so a resumed run computes the very same doubles.
 */
export function predictRaw(ensemble: Ensemble, x: Float32Array, rows: number, featureCount: number): Float64Array {
  const k = ensemble.outputs;
  const scores = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) scores[r * k + c] = ensemble.baseScores[c] as number;
  addTrees(ensemble, 0, x, rows, featureCount, scores);
  return scores;
}

/** Adds trees [fromTree, end) to `scores` (rows × outputs). */
export function addTrees(
  ensemble: Ensemble,
  fromTree: number,
  x: Float32Array,
  rows: number,
  featureCount: number,
  scores: Float64Array,
): void {
  const k = ensemble.outputs;
  for (let r = 0; r < rows; r++) {
    const offset = r * featureCount;
    for (let t = fromTree; t < ensemble.trees.length; t++) {
      const tree = ensemble.trees[t] as Tree;
      const at = r * k + (t % k);
      scores[at] = (scores[at] as number) + (tree.value[leafOf(tree, x, offset)] as number);
    }
  }
}

/** Rounds held by an ensemble (trees / outputs). */
export function roundsOf(ensemble: Ensemble): number {
  return ensemble.trees.length / ensemble.outputs;
}
