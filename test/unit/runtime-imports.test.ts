import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { it } from 'node:test';

/** The CommonJS modules of a package that the process has loaded so far. */
function loadedFrom(pkg: string): string[] {
  const marker = `${path.sep}node_modules${path.sep}${pkg.split('/').join(path.sep)}${path.sep}`;
  return Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes(marker));
}

it('the worker and every CLI command load without @temporalio/testing, a devDependency', async () => {
  // The whole CLI (dev included: it imports the SDK download lazily) and the worker, as `trainyard worker` runs it.
  await import('../../cli/commands/approve');
  await import('../../cli/commands/data');
  await import('../../cli/commands/dev');
  await import('../../cli/commands/doctor');
  await import('../../cli/commands/models');
  await import('../../cli/commands/retry');
  await import('../../cli/commands/run');
  await import('../../cli/commands/runs');
  await import('../../cli/commands/schedule');
  await import('../../cli/commands/schema');
  await import('../../cli/commands/status');
  await import('../../cli/commands/worker');
  await import('../../worker/run-worker');
  await import('../../activities');
  assert.ok(loadedFrom('@temporalio/worker').length > 0, 'the check sees CommonJS packages the imports load');
  assert.deepEqual(loadedFrom('@temporalio/testing'), []);
});
