// Ensemble records: what was asked for (dataset, family, settings, members with seeds, gan ids and job ids),
// written once when training starts. Live facts (job states, latest checkpoints) are looked up when read, and
// the committed `ensemble` artifact lists the final checkpoints. A single TrainGan is an ensemble of one.
import { InvalidInput, NotFound, type ObjectStore } from "@synthmri/platform";
import type { TrainSettings } from "./params.js";

export interface MemberRecord {
  index: number;
  seed: number;
  ganId: string;
  /** Training job in this service ("" when a cluster Job trains it, see member-main.ts). */
  jobId: string;
}

export interface EnsembleRecord {
  id: string;
  name: string;
  datasetId: string;
  settings: TrainSettings;
  baseSeed: number;
  concurrency: number;
  /** Parent job (the member's own job for a single GAN). */
  jobId: string;
  createdAt: string;
  /** True for a TrainGan (ensemble of one whose id is the gan id). */
  single: boolean;
  members: MemberRecord[];
}

const PREFIX = "generator/ensembles/";
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/;

export function checkEnsembleId(id: string, what = "ensemble_id"): void {
  if (!id) throw new InvalidInput(`${what} is empty`);
  if (!ID.test(id)) throw new InvalidInput(`${what} "${id.slice(0, 120)}" must be 1-101 of A-Z a-z 0-9 _ -`);
}

export class EnsembleRegistry {
  constructor(private readonly store: ObjectStore) {}

  async save(r: EnsembleRecord): Promise<void> {
    checkEnsembleId(r.id);
    await this.store.putObject(`${PREFIX}${r.id}.json`, JSON.stringify(r), { contentType: "application/json" });
  }

  async tryGet(id: string): Promise<EnsembleRecord | undefined> {
    checkEnsembleId(id);
    try {
      return JSON.parse((await this.store.getBuffer(`${PREFIX}${id}.json`)).toString("utf8")) as EnsembleRecord;
    } catch (e) {
      if ((e as { kind?: string }).kind === "NotFound") return undefined;
      throw e;
    }
  }

  async get(id: string): Promise<EnsembleRecord> {
    const r = await this.tryGet(id);
    if (!r) throw new NotFound(`ensemble or GAN "${id}" not found; ListEnsembles shows the known ones`);
    return r;
  }

  /** Every record, newest first. */
  async list(): Promise<EnsembleRecord[]> {
    const out: EnsembleRecord[] = [];
    for await (const o of this.store.listObjects(PREFIX)) {
      if (!o.key.endsWith(".json")) continue;
      out.push(JSON.parse((await this.store.getBuffer(o.key)).toString("utf8")) as EnsembleRecord);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  }
}
