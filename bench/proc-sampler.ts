import { readdir, readFile } from 'node:fs/promises';

/**
 * Linux /proc readings of other processes (the worker under test, the dev services) and of the whole
 * machine. A process's RSS and CPU time cover all of its threads; worker_threads are threads of it.
 */

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every mainstream Linux). */
const TICKS_PER_SECOND = 100;

export interface ProcessReading {
  rssBytes: number;
  /** The kernel's own RSS high-water mark since the process started. */
  hwmBytes: number;
  threads: number;
  /** User + system CPU of every thread, live or exited, since the process started. */
  cpuMs: number;
}

/** Fields after the `(comm)` of a /proc stat line: index 0 is the state (field 3 in proc(5)). */
function statFields(stat: string): string[] {
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
}

function cpuMsOf(stat: string): number {
  const fields = statFields(stat);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND; // utime, stime
}

function statusKiB(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

export async function readProcess(pid: number): Promise<ProcessReading | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    return {
      rssBytes: statusKiB(status, 'VmRSS') * 1024,
      hwmBytes: statusKiB(status, 'VmHWM') * 1024,
      threads: statusKiB(status, 'Threads'),
      cpuMs: cpuMsOf(stat),
    };
  } catch {
    return undefined; // gone, or no procfs
  }
}

/** CPU time per live thread, keyed by thread id, with the thread's name (`comm`). */
export async function readThreads(pid: number): Promise<Map<number, { name: string; cpuMs: number }>> {
  const threads = new Map<number, { name: string; cpuMs: number }>();
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  await Promise.all(
    tids.map(async (tid) => {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
      if (!stat) return;
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      threads.set(Number(tid), { name, cpuMs: cpuMsOf(stat) });
    }),
  );
  return threads;
}

/** Busy and total CPU ticks of the whole machine, all cores (first line of /proc/stat). */
export async function readMachineCpu(): Promise<{ busyTicks: number; totalTicks: number } | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const line = text?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return {
    busyTicks: user + nice + system + irq + softirq + steal,
    totalTicks: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

export interface ProcessUsage {
  peakRssBytes: number;
  /** VmHWM at the end: the peak since the process started, which may predate this window. */
  hwmBytes: number;
  peakThreads: number;
  cpuMs: number;
  /**
   * CPU in this window: "main" (the event loop), threads that existed when the window opened (by name),
   * and the rest, "threads started in the window" (training threads, per-activity DuckDB threads).
   */
  cpuMsByThread: Record<string, number>;
}

export interface UsageWindow {
  seconds: number;
  processes: Record<string, ProcessUsage>;
  /** Share of all cores busy (any process) over the window, 0-1. */
  machineBusy: number;
}

/**
 * Samples the named processes every `intervalMs` until stopped (peak RSS, thread count), and splits
 * their CPU time over the window by thread.
 */
export function sampleProcesses(pids: Record<string, number>, intervalMs = 150): { stop(): Promise<UsageWindow> } {
  const startedAt = performance.now();
  const machineAtStart = readMachineCpu();
  const state = Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [
      name,
      { pid, start: readProcess(pid), peakRssBytes: 0, peakThreads: 0, threadsAtStart: readThreads(pid) },
    ]),
  );
  const sampleOnce = async () => {
    await Promise.all(
      Object.values(state).map(async (s) => {
        const reading = await readProcess(s.pid);
        if (!reading) return;
        s.peakRssBytes = Math.max(s.peakRssBytes, reading.rssBytes);
        s.peakThreads = Math.max(s.peakThreads, reading.threads);
      }),
    );
  };
  let sampling = sampleOnce();
  const timer = setInterval(() => {
    sampling = sampling.then(sampleOnce);
  }, intervalMs);

  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      await sampleOnce();
      const seconds = (performance.now() - startedAt) / 1000;
      const processes: Record<string, ProcessUsage> = {};
      for (const [name, s] of Object.entries(state)) {
        const [start, end, before, after] = await Promise.all([
          s.start,
          readProcess(s.pid),
          s.threadsAtStart,
          readThreads(s.pid),
        ]);
        const cpuMs = (end?.cpuMs ?? 0) - (start?.cpuMs ?? 0);
        const cpuMsByThread: Record<string, number> = {};
        let accountedMs = 0;
        for (const [tid, thread] of after) {
          const earlier = before.get(tid);
          if (!earlier) continue;
          const label = tid === s.pid ? 'main' : `${thread.name} (pre-existing)`;
          cpuMsByThread[label] = (cpuMsByThread[label] ?? 0) + thread.cpuMs - earlier.cpuMs;
          accountedMs += thread.cpuMs - earlier.cpuMs;
        }
        // Exact even for threads that exited between samples: the process total covers them.
        cpuMsByThread['threads started in the window'] = cpuMs - accountedMs;
        processes[name] = {
          peakRssBytes: s.peakRssBytes,
          hwmBytes: end?.hwmBytes ?? 0,
          peakThreads: s.peakThreads,
          cpuMs,
          cpuMsByThread,
        };
      }
      const [m0, m1] = await Promise.all([machineAtStart, readMachineCpu()]);
      const machineBusy =
        m0 && m1 && m1.totalTicks > m0.totalTicks
          ? (m1.busyTicks - m0.busyTicks) / (m1.totalTicks - m0.totalTicks)
          : Number.NaN;
      return { seconds, processes, machineBusy };
    },
  };
}
