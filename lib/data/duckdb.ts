import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  BIGINT,
  DOUBLE,
  DuckDBInstance,
  DuckDBListValue,
  LIST,
  listValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

export type SqlValue = DuckDBValue;

export interface DuckDbOptions {
  /**
   * DuckDB's buffer-manager limit. What does not fit spills to `tempDirectory`. The default (1 GB) keeps
   * a worker under 2 GiB RSS on 10M rows × 50 columns: DuckDB's memory is native, outside the JS heap,
   * and the Node process itself needs ~200-300 MB beside it.
   */
  memoryLimit?: string;
  /** Worker threads DuckDB may use; default: every core. */
  threads?: number;
  /** Where DuckDB spills; default: a fresh directory removed on close. */
  tempDirectory?: string;
  /**
   * The only directories DuckDB may read or write (external access is off everywhere else, so even a
   * query that somehow named /etc/passwd could not read it). Default: the OS temp directory, where
   * datasets are materialised and splits are written.
   */
  allowedDirectories?: string[];
}

export type Row = Record<string, unknown>;

/** One DuckDB database in memory with one connection; `all` returns plain JS rows (BIGINT → number). */
export interface DuckDbSession {
  connection: DuckDBConnection;
  /** The session's own scratch directory (spill files; a good place for local outputs). Removed on close. */
  workDirectory: string;
  run(sql: string, params?: SqlValue[]): Promise<void>;
  all<T = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Stops the running query (it fails with an "Interrupted" error). */
  interrupt(): void;
  close(): Promise<void>;
}

export const DEFAULT_MEMORY_LIMIT = '1GB';

export async function openDuckDb(options: DuckDbOptions = {}): Promise<DuckDbSession> {
  const workDirectory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-duckdb-'));
  const spillDirectory = options.tempDirectory ?? path.join(workDirectory, 'spill');
  const settings: Record<string, string> = {
    memory_limit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    temp_directory: spillDirectory,
    // Readers for Parquet, CSV and JSON are built in; never fetch extensions at run time.
    autoinstall_known_extensions: 'false',
  };
  if (options.threads !== undefined) settings.threads = String(options.threads);

  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  try {
    instance = await DuckDBInstance.create(':memory:', settings);
    connection = await instance.connect();
    const allowed = [...(options.allowedDirectories ?? [os.tmpdir()]), workDirectory, spillDirectory].map(asDirectory);
    await connection.run('SET allowed_directories = $1', [listValue([...new Set(allowed)])]);
    await connection.run('SET enable_external_access = false');
  } catch (error) {
    connection?.closeSync();
    instance?.closeSync();
    await rm(workDirectory, { recursive: true, force: true });
    throw error;
  }
  return createSession(instance, connection, workDirectory);
}

function createSession(instance: DuckDBInstance, connection: DuckDBConnection, workDirectory: string): DuckDbSession {
  let closed = false;
  return {
    connection,
    workDirectory,
    async run(sql, params) {
      await connection.run(sql, params, params && parameterTypes(params));
    },
    async all<T = Row>(sql: string, params?: SqlValue[]): Promise<T[]> {
      const reader = await connection.runAndReadAll(sql, params, params && parameterTypes(params));
      // Rows are built from column names here, not by getRowObjectsJS(), which assigns keys and so drops a
      // column named "__proto__" (Object.fromEntries defines every name as an own property).
      const names = reader.columnNames();
      return reader
        .getRowsJS()
        .map((values) => Object.fromEntries(names.map((name, i) => [name, toPlainValue(values[i])])) as T);
    },
    interrupt() {
      if (!closed) connection.interrupt();
    },
    async close() {
      if (closed) return;
      closed = true;
      connection.closeSync();
      instance.closeSync();
      await rm(workDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * Types for the parameters node-api would bind wrongly: it types a list by its first item and a whole
 * number as INTEGER or BIGINT, so [1, 1.5] bound as INTEGER[] (1.5 rounded to 2: a histogram edge moved)
 * and 1e200 failed as "bigint out of int64 range". A number that is not a safe integer binds as DOUBLE;
 * a list of numbers as BIGINT[] when every item is a safe integer, else DOUBLE[]. Others are inferred.
 */
export function parameterTypes(params: readonly SqlValue[]): DuckDBType[] {
  return params.map((value) => {
    if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : DOUBLE;
    if (
      value instanceof DuckDBListValue &&
      value.items.length > 0 &&
      value.items.every((item) => typeof item === 'number')
    ) {
      return LIST(value.items.every((item) => Number.isSafeInteger(item)) ? BIGINT : DOUBLE);
    }
    return undefined;
  }) as DuckDBType[]; // undefined entries are inferred by node-api
}

/** Interrupts the session's running query when `signal` aborts; returns the function that detaches it. */
export function interruptOnAbort(session: DuckDbSession, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => session.interrupt();
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function asDirectory(directory: string): string {
  const resolved = path.resolve(directory);
  return resolved.endsWith(path.sep) ? resolved : `${resolved}${path.sep}`;
}

function toPlainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlainValue);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlainValue(v)]));
  }
  return value;
}
