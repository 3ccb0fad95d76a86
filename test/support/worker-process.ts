import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Every line the worker logged, for evidence and for failure messages. */
  lines: string[];
  /** Resolves when the worker logged that it polls its task queue. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * A real worker as a child process — `node bin/trainyard.mjs worker`, the way operators run it — on the
 * task queue the test chose, against the dev services. Crash tests SIGKILL it.
 */
export function startWorkerProcess(taskQueue: string, env: NodeJS.ProcessEnv = {}): WorkerProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'trainyard.mjs'), 'worker'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TRAINYARD_TASK_QUEUE: taskQueue,
      S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
      TRAINYARD_STORE: 's3',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(line);
      if (line.includes('trainyard worker started')) markReady();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then((code) =>
    failReady(new Error(`the worker exited (code ${code}) before it was ready:\n${lines.slice(-20).join('\n')}`)),
  );
  return {
    child,
    lines,
    ready,
    exited,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
