// The warm models of this process: loaded once (weights from the store into a U-Net), kept until
// UnloadModel. Version 0 means the latest stored version. Listeners learn when the set changes (the
// server turns health SERVING once at least one model is loaded).
import { loadUNet, type UNet } from "@synthmri/ml";
import type { Logger } from "@synthmri/platform";
import type { ModelStore, SegModelManifest } from "./model-store.js";
import { checkModelId } from "./model-store.js";

export interface LoadedModel {
  manifest: SegModelManifest;
  net: UNet;
  loadedAt: string;
  /** Calls using the net now; an unloaded model is disposed when the last one releases it. */
  users: number;
  retired: boolean;
}

const key = (id: string, v: number) => `${id}@${v}`;

export class ModelRegistry {
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly listeners = new Set<(count: number) => void>();

  constructor(
    private readonly store: ModelStore,
    private readonly logger?: Logger,
  ) {}

  onChange(fn: (count: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get size(): number {
    return this.loaded.size;
  }

  isLoaded(id: string, version: number): boolean {
    return this.loaded.has(key(id, version));
  }

  list(): LoadedModel[] {
    return [...this.loaded.values()];
  }

  /** Loads (or returns the already warm) model; version 0 = latest stored. */
  async load(modelId: string, version = 0): Promise<LoadedModel> {
    checkModelId(modelId);
    const v = version || (await this.store.latestVersion(modelId));
    const k = key(modelId, v);
    const warm = this.loaded.get(k);
    if (warm) return warm;
    let p = this.loading.get(k);
    if (!p) {
      p = (async () => {
        const manifest = await this.store.manifest(modelId, v);
        const net = loadUNet(await this.store.weights(manifest));
        const m: LoadedModel = { manifest, net, loadedAt: new Date().toISOString(), users: 0, retired: false };
        this.loaded.set(k, m);
        this.logger?.info("model loaded", { modelId, version: v, params: net.parameterCount() });
        this.emit();
        return m;
      })().finally(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  /** The model to serve a request: a loaded one if warm (version 0 = the newest loaded), else loads it. */
  async resolve(modelId: string, version = 0): Promise<LoadedModel> {
    checkModelId(modelId);
    if (!version) {
      const warm = this.list()
        .filter((m) => m.manifest.model.id === modelId)
        .sort((a, b) => b.manifest.model.version - a.manifest.model.version)[0];
      if (warm) return warm;
    }
    return this.load(modelId, version);
  }

  /** Frees one version, or every loaded version when version is 0. Returns how many were freed. */
  unload(modelId: string, version = 0): number {
    checkModelId(modelId);
    let n = 0;
    for (const [k, m] of this.loaded) {
      if (m.manifest.model.id !== modelId || (version && m.manifest.model.version !== version)) continue;
      this.loaded.delete(k);
      m.retired = true;
      if (m.users === 0) m.net.dispose();
      n++;
    }
    if (n) this.emit();
    return n;
  }

  /** Marks the model in use by a call (UnloadModel then waits for release() before freeing it). */
  hold(m: LoadedModel): LoadedModel {
    m.users++;
    return m;
  }

  release(m: LoadedModel): void {
    m.users--;
    if (m.retired && m.users === 0) m.net.dispose();
  }

  dispose(): void {
    for (const m of this.loaded.values()) {
      m.retired = true;
      if (m.users === 0) m.net.dispose();
    }
    this.loaded.clear();
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.loaded.size);
  }
}
