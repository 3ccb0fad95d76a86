import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelReferenceText } from '../../contracts/model-reference';
import type { CellValue } from '../../lib/data/column-values';
import { loadConfig } from '../../lib/config';
import { loadScorer } from '../../lib/evaluation/scorer';
import { resolveVersion } from '../../lib/serving/resolve-version';
import { createArtifactStore } from '../../lib/store/create-store';

/**
 * The online bench's floor: a bare node:http handler that parses the JSON body and calls the loaded
 * model directly (the version's scorer: preprocessor + model, nothing else: no framework, no row
 * validation, no ids, no metrics, no prediction log). Prints `listening <url>` once ready.
 * Usage: tsx bench/predict/floor-server.ts <model>@<alias>|<model>:<version>
 */
const reference = ModelReferenceText.parse(process.argv[2]);
const store = createArtifactStore(loadConfig().store);
const record = await resolveVersion(store, reference);
const scorer = await loadScorer(store, record.modelRef, record.lineage.preprocessor);
const columnNames = [...new Set(scorer.spec.features.map((f) => f.column))];

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const rows = (Array.isArray(body) ? body : [body]) as Record<string, CellValue>[];
      const columns = Object.fromEntries(columnNames.map((c) => [c, rows.map((row) => row[c] ?? null)]));
      const outputs = await scorer.predictColumns(columns, rows.length);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ version: record.version, outputs: Array.from(outputs) }));
    })().catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
