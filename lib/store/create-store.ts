import type { StoreSettings } from '../config';
import type { ArtifactStore } from './artifact-store';
import { FsArtifactStore } from './fs-store';
import { S3ArtifactStore } from './s3-store';

/** The one place that turns configuration into a store; everything else takes an ArtifactStore. */
export function createArtifactStore(settings: StoreSettings): ArtifactStore {
  switch (settings.kind) {
    case 's3':
      return new S3ArtifactStore(settings.s3);
    case 'fs':
      return new FsArtifactStore(settings.root);
  }
}
