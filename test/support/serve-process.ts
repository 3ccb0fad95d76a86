import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './cli';

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port>, from the "listening" log line. */
  url: Promise<string>;
  /** Every line it printed, for failure messages. */
  lines: string[];
  exited: Promise<number | null>;
}

/** `trainyard serve <args>` as a child process, the way an operator runs it (on a free port unless args say otherwise). */
export function startServeProcess(args: string[], env: NodeJS.ProcessEnv = {}): ServeProcess {
  const child = spawn(process.execPath, [`${REPO_ROOT}/bin/trainyard.mjs`, 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let found: (url: string) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const url = new Promise<string>((resolve, reject) => {
    found = resolve;
    failed = reject;
  });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(line);
      const match = /trainyard serve listening on (http:\/\/\S+?)"/.exec(line);
      if (match) found(match[1] as string);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then((code) => failed(new Error(`serve exited (code ${code}) before listening:\n${lines.join('\n')}`)));
  return { child, url, lines, exited };
}
