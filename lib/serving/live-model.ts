import type { ModelReference } from '../../contracts/model-reference';
import { resolveAlias } from '../registry';
import { getVersion } from '../registry/versions';
import type { ArtifactStore } from '../store/artifact-store';
import { loadModel, loadVersion, type ServingModel } from './load-model';

/** What happened on one look at the registry. */
export type RefreshOutcome =
  | { kind: 'unchanged'; version: number }
  | { kind: 'reloaded'; from: number; to: number }
  | { kind: 'alias-unset'; version: number };

/**
 * The version a server answers with, kept current: `refresh()` reads the alias and, when it has moved,
 * loads the new version completely before swapping it in, so requests never wait for a load and never
 * see a half-loaded model. A request holds the version it started with (`use`) until it ends; a
 * replaced version is disposed when its last request has finished. A fixed `model:n` never moves.
 */
export class LiveModel {
  private active: Held;
  private refreshing: Promise<RefreshOutcome> | undefined;
  private closed = false;

  private constructor(
    private readonly store: ArtifactStore,
    private readonly reference: ModelReference,
    first: ServingModel,
  ) {
    this.active = new Held(first);
  }

  static async open(store: ArtifactStore, reference: ModelReference): Promise<LiveModel> {
    return new LiveModel(store, reference, await loadModel(store, reference));
  }

  /** The version answering now. */
  get current(): ServingModel {
    return this.active.model;
  }

  /** Runs `work` with the current version, which stays loaded until `work` settles. */
  async use<T>(work: (model: ServingModel) => Promise<T>): Promise<T> {
    const held = this.active;
    held.inFlight++;
    try {
      return await work(held.model);
    } finally {
      held.release();
    }
  }

  /** One look at the registry; concurrent callers share it. Store errors propagate (the caller logs them and keeps serving). */
  refresh(): Promise<RefreshOutcome> {
    this.refreshing ??= this.lookOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async lookOnce(): Promise<RefreshOutcome> {
    const serving = this.active.model.version;
    if (!('alias' in this.reference) || this.closed) return { kind: 'unchanged', version: serving };
    const { model, alias } = this.reference;
    const target = await resolveAlias(this.store, model, alias);
    if (target === undefined) return { kind: 'alias-unset', version: serving };
    if (target === serving) return { kind: 'unchanged', version: serving };
    const next = await loadVersion(this.store, await getVersion(this.store, model, target), alias);
    if (this.closed) {
      next.dispose();
      return { kind: 'unchanged', version: serving };
    }
    const previous = this.active;
    this.active = new Held(next);
    previous.retire();
    return { kind: 'reloaded', from: serving, to: target };
  }

  /** Stops refreshing; the current version is disposed once its requests have finished. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing?.catch(() => undefined);
    this.active.retire();
  }
}

/** A loaded version with the number of requests using it. */
class Held {
  inFlight = 0;
  private retired = false;

  constructor(readonly model: ServingModel) {}

  release(): void {
    this.inFlight--;
    if (this.retired && this.inFlight === 0) this.model.dispose();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.inFlight === 0) this.model.dispose();
  }
}
