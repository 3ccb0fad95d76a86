import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config';
import { loadCliConfig, UsageError } from './config-edge';

export async function connectClient(config: Config): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (error) {
    throw new UsageError(
      `Temporal is not reachable at ${config.temporal.address} (${(error as Error).message}).\n` +
        'Start the dev services with "trainyard dev up", or set TEMPORAL_ADDRESS.',
    );
  }
}

/** Loads the configuration, connects, runs `use` and closes the connection, however `use` ends. */
export async function withTemporalClient<T>(use: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = await loadCliConfig();
  const client = await connectClient(config);
  try {
    return await use(client, config);
  } finally {
    await client.connection.close();
  }
}
