import type { PartitionSelection } from '../contracts/stage-config';
import type { DatasetFingerprint } from '../contracts/stages';
import { fingerprintSelection } from '../lib/data/fingerprint';
import type { StoreDeps } from './deps';
import { stageActivity, type StageSpec } from './stage-run';

export interface FingerprintArgs {
  uri: string;
  /** For a partitioned dataset: which partitions to read (default all). */
  partitions?: PartitionSelection;
  /** ISO time "latest" and windows are judged against (the run's scheduled time). */
  asOf?: string;
}

/**
 * The dataset's sha256 and size, streamed. A single object hashes to the sha256 of its bytes; a prefix
 * (a partitioned dataset, URI ending in "/") hashes each data file's relative path and bytes in order,
 * so renaming, adding or changing a partition changes the fingerprint. With a partition selection
 * other than "all", only the chosen partitions are hashed, and named in the result for the readers.
 */
export function fingerprintDatasetActivity({ store }: StoreDeps) {
  const stage: StageSpec<FingerprintArgs> = { name: 'fingerprintDataset' };
  return stageActivity(stage, async ({ uri, partitions = 'all', asOf }, run): Promise<DatasetFingerprint> => {
    const fingerprint = await fingerprintSelection(
      store,
      uri,
      partitions,
      asOf === undefined ? new Date() : new Date(asOf),
      { signal: run.signal, onProgress: (file, bytesRead) => run.beat({ file, bytesRead }) },
    );
    run.log.info('dataset fingerprinted', { ...fingerprint });
    return fingerprint;
  });
}
