import { createRequire } from 'node:module';
import path from 'node:path';

export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';
type Tf = typeof import('@tensorflow/tfjs');

export interface LoadedTfjs {
  tf: Tf;
  backend: TfjsBackendName;
  /** Why faster backends were not used, for logs, `doctor` and model lineage. */
  fallbackReasons: string[];
}

const require = createRequire(import.meta.url);
let loaded: Promise<LoadedTfjs> | undefined;

/**
 * TensorFlow.js with the fastest backend that loads here: the native addon (@tensorflow/tfjs-node,
 * optional because its installer downloads libtensorflow), else WebAssembly, else plain JS.
 */
export function loadTfjs(): Promise<LoadedTfjs> {
  loaded ??= pickBackend();
  return loaded;
}

async function pickBackend(): Promise<LoadedTfjs> {
  const fallbackReasons: string[] = [];
  try {
    const tf = require('@tensorflow/tfjs-node') as Tf;
    await tf.ready();
    return { tf, backend: 'tensorflow', fallbackReasons };
  } catch (error) {
    fallbackReasons.push(`tfjs-node unavailable: ${firstLine(error)}`);
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${wasmDir}${path.sep}`);
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return { tf, backend: 'wasm', fallbackReasons };
    }
    fallbackReasons.push('wasm backend failed to initialise');
  } catch (error) {
    fallbackReasons.push(`wasm unavailable: ${firstLine(error)}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: 'cpu', fallbackReasons };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
