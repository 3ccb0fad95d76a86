import { ObjectNotFoundError, type ArtifactStore } from './artifact-store';

/** An object's whole body, for small documents (JSON, model topology); large files stream to disk instead. */
export async function readObject(store: ArtifactStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key))
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Like readObject, but undefined when there is no object at `key`. */
export async function readObjectIfExists(store: ArtifactStore, key: string): Promise<Buffer | undefined> {
  try {
    return await readObject(store, key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
}
