import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

/**
 * @temporalio/testing is a devDependency: present after `npm ci` / `npm install`, absent from a production
 * install (`--omit=dev`, the worker image). So it is imported here only when `dev up` needs the download,
 * never by the worker or the CLI's other commands.
 */
type TestingModule = { TestWorkflowEnvironment: typeof TestWorkflowEnvironment };

/** Any HTTP answer from the SDK's download host counts; a DNS failure or the timeout does not. */
export async function isTemporalDownloadReachable(timeoutMs = 3_000): Promise<boolean> {
  try {
    await fetch('https://temporal.download/', { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Uses the SDK's own cached download (sdk-core fetches https://temporal.download/cli/<version> and stores
 * `<downloadDir>/temporal-<version>`). The SDK only downloads as part of starting a throwaway dev server, so one is
 * started on a free port and torn down at once. Returns undefined when @temporalio/testing is not installed.
 */
export async function downloadTemporalWithSdk(version: string, stagingDir: string): Promise<string | undefined> {
  const specifier = '@temporalio/testing';
  let testing: TestingModule;
  try {
    testing = (await import(specifier)) as TestingModule;
  } catch {
    return undefined;
  }
  const environment = await testing.TestWorkflowEnvironment.createLocal({
    server: { ip: '127.0.0.1', executable: { type: 'cached-download', version, downloadDir: stagingDir } },
  });
  await environment.teardown();
  return path.join(stagingDir, `temporal-${version}`);
}
