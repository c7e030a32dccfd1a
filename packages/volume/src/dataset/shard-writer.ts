// Packs slices into a few large shard objects per split (s3rver and S3 are slow with many small
// objects) and hands each full shard to a sink at once, so memory stays at one shard per split
// whatever the dataset size. The ArtifactWriter of the platform package is a sink as it is.
import { InvalidInput } from "@synthmri/core";
import { encodeShard } from "../slicing/shard.js";
import type { SliceBatch } from "../slicing/slices.js";
import type { DatasetShard, DatasetSplit } from "./manifest.js";

/** Where shards go: `putFile(path, bytes)` (an ArtifactWriter fits). */
export interface ShardSink {
  putFile(path: string, body: Uint8Array): Promise<unknown>;
}

export interface ShardWriterOptions {
  /** slices per shard; default: as many as fit in `targetShardBytes` */
  shardSlices?: number;
  /** default 16 MiB: few objects, while a split's pending shard (and a shuffle window of shards) stays small */
  targetShardBytes?: number;
  /** shard paths are `${dir}/${split}-NNNNN.smsl`; default "slices" */
  dir?: string;
}

export const DEFAULT_TARGET_SHARD_BYTES = 16 << 20;

interface Pending {
  height: number;
  width: number;
  channels: number;
  parts: Uint8Array[];
  count: number;
  sliceIndex: number[];
  subject: string[];
}

export class DatasetShardWriter {
  private readonly pending = new Map<DatasetSplit, Pending>();
  private readonly shards: DatasetShard[] = [];
  private readonly counters: Record<DatasetSplit, number> = { train: 0, test: 0 };
  private readonly dir: string;
  private shape: [number, number, number] | undefined;

  constructor(
    private readonly sink: ShardSink,
    private readonly options: ShardWriterOptions = {},
  ) {
    this.dir = options.dir ?? "slices";
    if (options.shardSlices !== undefined && !(Number.isInteger(options.shardSlices) && options.shardSlices >= 1)) {
      throw new InvalidInput(`shard size ${options.shardSlices} must be a positive number of slices`);
    }
  }

  /** Adds a batch of slices to a split; writes every shard that fills up before returning. */
  async add(split: DatasetSplit, batch: SliceBatch): Promise<void> {
    if (batch.count === 0) return;
    const shape: [number, number, number] = [batch.height, batch.width, batch.channels];
    if (this.shape && this.shape.join("x") !== shape.join("x")) {
      throw new InvalidInput(
        `slices of ${shape.join("x")} cannot join a dataset of ${this.shape.join("x")} slices (same size and channels required)`,
      );
    }
    this.shape = shape;
    const per = this.slicesPerShard(batch);
    const sliceBytes = batch.height * batch.width * batch.channels;
    let p = this.pending.get(split);
    for (let i = 0; i < batch.count; ) {
      if (!p) {
        p = {
          height: batch.height,
          width: batch.width,
          channels: batch.channels,
          parts: [],
          count: 0,
          sliceIndex: [],
          subject: [],
        };
        this.pending.set(split, p);
      }
      const take = Math.min(per - p.count, batch.count - i);
      // A copy: the caller may reuse its batch buffer; one subject's slices are small next to a shard.
      p.parts.push(batch.data.slice(i * sliceBytes, (i + take) * sliceBytes));
      p.sliceIndex.push(...batch.sliceIndex.slice(i, i + take));
      p.subject.push(...batch.subject.slice(i, i + take));
      p.count += take;
      i += take;
      if (p.count >= per) {
        await this.flush(split, p);
        p = undefined;
      }
    }
  }

  /** Writes the partly filled shards; returns every shard written, in order. */
  async finish(): Promise<{
    shards: DatasetShard[];
    sliceCounts: Record<DatasetSplit, number>;
    sliceShape?: [number, number, number];
  }> {
    for (const [split, p] of [...this.pending]) await this.flush(split, p);
    const sliceCounts = { train: 0, test: 0 };
    for (const s of this.shards) sliceCounts[s.split] += s.count;
    return { shards: [...this.shards], sliceCounts, sliceShape: this.shape };
  }

  private slicesPerShard(batch: SliceBatch): number {
    if (this.options.shardSlices) return this.options.shardSlices;
    const bytes = batch.height * batch.width * batch.channels;
    return Math.max(1, Math.floor((this.options.targetShardBytes ?? DEFAULT_TARGET_SHARD_BYTES) / bytes));
  }

  private async flush(split: DatasetSplit, p: Pending): Promise<void> {
    this.pending.delete(split);
    if (p.count === 0) return;
    const data = new Uint8Array(p.count * p.height * p.width * p.channels);
    let off = 0;
    for (const part of p.parts) {
      data.set(part, off);
      off += part.length;
    }
    p.parts.length = 0;
    const batch: SliceBatch = { ...p, data };
    const path = `${this.dir}/${split}-${String(this.counters[split]++).padStart(5, "0")}.smsl`;
    await this.sink.putFile(path, encodeShard(batch));
    this.shards.push({ path, split, count: p.count, subjects: [...new Set(p.subject)] });
  }
}
