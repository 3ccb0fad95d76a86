import type { Tree } from './ensemble';
import { findBestSplit, type NodeSums, type SplitChoice, type SplitRules } from './best-split';
import { subtractHistogram } from './histogram';

/** The train split as bins: row-major bytes, with each feature's thresholds (bin b ⇔ value ≤ thresholds[b]). */
export interface BinnedRows {
  bins: Uint8Array;
  rows: number;
  featureCount: number;
  binCounts: Uint16Array;
  thresholds: Float64Array[];
}

export interface GrowRules extends SplitRules {
  maxLeafNodes: number;
  maxDepth?: number;
  learningRate: number;
}

/** A grown tree, its split bins (for scoring binned rows) and which rows of `order` ended in which leaf. */
export interface GrownTree {
  tree: Tree;
  thresholdBin: Uint8Array;
  leaves: Array<{ node: number; start: number; end: number }>;
}

/** Where a tree's histograms come from: buffers, and a way to fill one with rows order[start, end) of the tree's gradients. */
export interface TreeHistograms {
  take(): Float64Array;
  give(hist: Float64Array): void;
  build(start: number, end: number, hist: Float64Array): void;
}

interface OpenLeaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  sums: NodeSums;
  hist: Float64Array | undefined;
  split: SplitChoice | undefined;
}

/**
 * Grows one tree best-first (leaf-wise, as LightGBM and scikit-learn's HistGradientBoosting do): the
 * open leaf whose best split reduces the loss most is split next, until `maxLeafNodes` leaves or no
 * split gains. Rows are order[0, rowCount), partitioned in place (stably, so every run sums in the same
 * order); `scratch` is as long as `order`; `histograms` sums `grad` and `hess` over rows of `order`.
 */
export function growTree(
  data: BinnedRows,
  order: Uint32Array,
  rowCount: number,
  scratch: Uint32Array,
  grad: Float32Array,
  hess: Float32Array,
  rules: GrowRules,
  histograms: TreeHistograms,
): GrownTree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const thresholdBin: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const addNode = () => {
    feature.push(-1);
    threshold.push(0);
    thresholdBin.push(0);
    left.push(-1);
    right.push(-1);
    value.push(0);
    return feature.length - 1;
  };
  const leafValue = (sums: NodeSums) => (-rules.learningRate * sums.grad) / (sums.hess + rules.l2Regularization);
  const canSplit = (leaf: Omit<OpenLeaf, 'hist' | 'split'>) =>
    (rules.maxDepth === undefined || leaf.depth < rules.maxDepth) &&
    leaf.sums.count >= 2 * rules.minSamplesLeaf &&
    leaf.sums.hess >= 2 * rules.minHessianLeaf;
  const withSplit = (leaf: OpenLeaf): OpenLeaf => {
    if (!leaf.hist || !canSplit(leaf)) return leaf;
    return { ...leaf, split: findBestSplit(leaf.hist, data.binCounts, leaf.sums, rules) };
  };

  const rootSums: NodeSums = { grad: 0, hess: 0, count: rowCount };
  for (let i = 0; i < rowCount; i++) {
    rootSums.grad += grad[order[i] as number] as number;
    rootSums.hess += hess[order[i] as number] as number;
  }
  const rootHist = histograms.take();
  histograms.build(0, rowCount, rootHist);
  const open: OpenLeaf[] = [
    withSplit({ node: addNode(), start: 0, end: rowCount, depth: 0, sums: rootSums, hist: rootHist, split: undefined }),
  ];
  const closed: OpenLeaf[] = [];

  while (open.length + closed.length < rules.maxLeafNodes) {
    let pick = -1;
    for (let i = 0; i < open.length; i++) {
      const gain = open[i]?.split?.gain;
      if (gain !== undefined && (pick < 0 || gain > (open[pick]?.split?.gain as number))) pick = i;
    }
    if (pick < 0) break;
    const parent = open.splice(pick, 1)[0] as OpenLeaf;
    const split = parent.split as SplitChoice;
    const middle = partition(data, order, scratch, parent.start, parent.end, split.feature, split.bin);
    feature[parent.node] = split.feature;
    threshold[parent.node] = data.thresholds[split.feature]?.[split.bin] as number;
    thresholdBin[parent.node] = split.bin;
    const leftLeaf = { node: addNode(), start: parent.start, end: middle, depth: parent.depth + 1, sums: split.left };
    const rightLeaf = { node: addNode(), start: middle, end: parent.end, depth: parent.depth + 1, sums: split.right };
    left[parent.node] = leftLeaf.node;
    right[parent.node] = rightLeaf.node;

    const parentHist = parent.hist as Float64Array;
    let leftHist: Float64Array | undefined;
    let rightHist: Float64Array | undefined;
    if (canSplit(leftLeaf) || canSplit(rightLeaf)) {
      const smallIsLeft = leftLeaf.sums.count <= rightLeaf.sums.count;
      const small = smallIsLeft ? leftLeaf : rightLeaf;
      const smallHist = histograms.take();
      histograms.build(small.start, small.end, smallHist);
      subtractHistogram(parentHist, smallHist);
      [leftHist, rightHist] = smallIsLeft ? [smallHist, parentHist] : [parentHist, smallHist];
    } else {
      histograms.give(parentHist);
    }
    for (const child of [
      withSplit({ ...leftLeaf, hist: leftHist, split: undefined }),
      withSplit({ ...rightLeaf, hist: rightHist, split: undefined }),
    ]) {
      if (child.split) open.push(child);
      else {
        if (child.hist) histograms.give(child.hist);
        closed.push({ ...child, hist: undefined });
      }
    }
  }

  const leaves = [...open, ...closed];
  for (const leaf of leaves) {
    value[leaf.node] = leafValue(leaf.sums);
    if (leaf.hist) histograms.give(leaf.hist);
  }
  return {
    tree: {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float64Array.from(value),
    },
    thresholdBin: Uint8Array.from(thresholdBin),
    leaves: leaves.map(({ node, start, end }) => ({ node, start, end })),
  };
}

/** Stable partition of order[start, end) by bin ≤ splitBin; returns where the right side begins. */
function partition(
  data: BinnedRows,
  order: Uint32Array,
  scratch: Uint32Array,
  start: number,
  end: number,
  feature: number,
  splitBin: number,
): number {
  let l = start;
  let r = 0;
  for (let i = start; i < end; i++) {
    const row = order[i] as number;
    if ((data.bins[row * data.featureCount + feature] as number) <= splitBin) order[l++] = row;
    else scratch[r++] = row;
  }
  order.set(scratch.subarray(0, r), l);
  return l;
}

/** The leaf a binned row reaches. */
export function leafOfBinned(tree: Tree, thresholdBin: Uint8Array, bins: Uint8Array, rowOffset: number): number {
  let node = 0;
  while ((tree.feature[node] as number) >= 0) {
    node =
      (bins[rowOffset + (tree.feature[node] as number)] as number) > (thresholdBin[node] as number)
        ? (tree.right[node] as number)
        : (tree.left[node] as number);
  }
  return node;
}
