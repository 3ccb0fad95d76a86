import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { InvalidArtifactKeyError } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { loadCliConfig, UsageError } from '../config-edge';

export function dataCommand(): Command {
  const data = new Command('data').description('Datasets in the artifact store');
  data
    .command('put')
    .description('Upload a local file to the artifact store (streamed; prints uri, sha256 and bytes)')
    .argument('<local-file>', 'file to upload')
    .argument('<uri>', 'destination, e.g. s3://trainyard/datasets/penguins.csv')
    .action(async (localFile: string, uri: string) => {
      const config = await loadCliConfig();
      const info = await stat(localFile).catch(() => undefined);
      if (!info?.isFile()) throw new UsageError(`No such file: ${localFile}`);
      const store = createArtifactStore(config.store);
      let key: string;
      try {
        key = store.keyFor(uri);
      } catch (error) {
        if (error instanceof InvalidArtifactKeyError) throw new UsageError(error.message);
        throw error;
      }
      await store.ensureReady();
      const result = await store.putFile(key, localFile, { bytes: info.size });
      process.stdout.write(`${JSON.stringify({ uri: result.uri, sha256: result.sha256, bytes: result.bytes })}\n`);
    });
  return data;
}
