export * from './artifact-store';
export { createArtifactStore } from './create-store';
export { FsArtifactStore, type FsStoreOptions } from './fs-store';
export {
  fileUri,
  MAX_KEY_BYTES,
  parseArtifactUri,
  s3Uri,
  validateKey,
  validatePrefix,
  type ArtifactLocation,
} from './keys';
export { S3ArtifactStore, type S3StoreOptions } from './s3-store';
