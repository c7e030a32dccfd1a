// The partner flow as the handlers see it: admission of a request (validation, quota reservation, audit,
// job start), the job itself (with quota release and export audit), and the read side (bundle, streamed
// download, presigned URL), each scoped to the authenticated partner.
import { randomBytes, randomUUID } from "node:crypto";
import {
  FailedPrecondition,
  InvalidInput,
  type JobContext,
  type JobRunner,
  type Logger,
  type ObjectRef,
  type ObjectStore,
} from "@synthmri/platform";
import type { AuditLog } from "./audit.js";
import { ARCHIVE_FILE, BUNDLE_KIND, type BundleView, readBundle } from "./bundle-store.js";
import type { BundleFormatName } from "./formats.js";
import { checkOffered, type GeneratorCard, listGenerators } from "./generators.js";
import { QuotaLedger } from "./quota.js";
import { PARTNER_JOB_KIND, type PartnerDomainDeps, type PartnerRequestParams, runPartnerRequest } from "./request.js";
import { checkFilters, NO_FILTERS, type SampleFilters } from "./screen.js";
import type { PartnerAccount } from "./tokens.js";

export const DOWNLOAD_CHUNK_BYTES = 1 << 20;
export const DEFAULT_URL_SECONDS = 3600;
export const MAX_URL_SECONDS = 7 * 24 * 3600;

export interface PartnerFlowDeps extends PartnerDomainDeps {
  jobs: JobRunner;
  audit: AuditLog;
  store: ObjectStore;
  /** Signs download URLs for the address partners reach (PARTNER_PUBLIC_S3_ENDPOINT); default `store`. */
  presignStore?: ObjectStore;
  logger?: Logger;
}

export interface RequestInput {
  size: number;
  ensembleId: string;
  format: BundleFormatName;
  filters?: SampleFilters;
  /** 0 = chosen by the server (recorded). */
  seed: number;
  purpose: string;
}

export type DownloadFrame =
  | { header: { name: string; size: number; sha256: string; contentType: string } }
  | { chunk: { offset: number; data: Uint8Array } };

function contentTypeOf(name: string): string {
  if (name.endsWith(".json")) return "application/json";
  if (name.endsWith(".nii.gz")) return "application/gzip";
  if (name.endsWith(".txt")) return "text/plain";
  return "application/octet-stream";
}

export class PartnerFlow {
  readonly quota: QuotaLedger;

  constructor(private readonly deps: PartnerFlowDeps) {
    this.quota = new QuotaLedger(deps.audit);
  }

  /** Validates, reserves quota, audits, starts the job. */
  async request(account: PartnerAccount, input: RequestInput): Promise<{ jobId: string; bundleId: string }> {
    const s = this.deps.settings;
    try {
      if (!Number.isInteger(input.size) || input.size < 1 || input.size > s.maxImagesPerRequest)
        throw new InvalidInput(`size ${input.size} must be 1..${s.maxImagesPerRequest} images per request`);
      const ensembleId = input.ensembleId || s.defaultEnsembleId;
      if (!ensembleId)
        throw new InvalidInput(
          "ensemble_id is empty and the hospital configured no default ensemble; name one (ListGenerators)",
        );
      checkOffered(account, s, ensembleId);
      const filters = input.filters ?? NO_FILTERS;
      checkFilters(filters);
      if (input.purpose.length > 2000) throw new InvalidInput("purpose is longer than 2000 characters");
      // Fail fast on an unknown or untrained ensemble, before the quota is touched.
      await this.deps.sampler.describe(ensembleId);
      const seed = input.seed || randomBytes(4).readUInt32LE(0) || 1;
      const bundleId = `pb-${randomUUID()}`;
      const params: PartnerRequestParams = {
        bundleId,
        partner: account.name,
        ensembleId,
        size: input.size,
        format: input.format,
        filters,
        seed,
        purpose: input.purpose,
      };
      return await this.quota.reserve(account, input.size, async () => {
        const jobId = this.deps.jobs.start(PARTNER_JOB_KIND, params, this.work);
        await this.deps.audit.record({
          type: "request.accepted",
          partner: account.name,
          size: input.size,
          ensembleId,
          format: input.format,
          filters,
          seed,
          purpose: input.purpose,
          bundleId,
          jobId,
        });
        return { jobId, bundleId };
      });
    } catch (e) {
      await this.deps.audit.record({
        type: "request.refused",
        partner: account.name,
        size: input.size,
        ensembleId: input.ensembleId,
        format: input.format,
        error: { kind: (e as { kind?: string }).kind ?? "Internal", message: (e as Error).message },
      });
      throw e;
    }
  }

  /** The job's work (also the resume handler after a restart). */
  readonly work = async (
    ctx: JobContext<PartnerRequestParams>,
  ): Promise<{ outputs: Record<string, string>; artifacts: ObjectRef[] }> => {
    const p = ctx.params;
    try {
      const summary = await runPartnerRequest(this.deps, p, {
        jobId: ctx.id,
        signal: ctx.signal,
        progress: ctx.progress,
      });
      await this.deps.audit.record({
        type: "export",
        partner: p.partner,
        bundleId: p.bundleId,
        jobId: ctx.id,
        ensembleId: p.ensembleId,
        format: p.format,
        images: summary.delivered,
        seed: p.seed,
        certificate: {
          reportId: summary.certificate.reportId,
          utilityStatus: summary.certificate.utilityStatus,
          rejectedAnatomy: summary.certificate.rejectedAnatomy,
          rejectedMemorization: summary.certificate.rejectedMemorization,
          memorizationThreshold: summary.certificate.memorizationThreshold,
        },
        files: summary.entries.map((e) => ({ name: e.name, size: e.size, sha256: e.sha256 })),
      });
      const manifest = await this.deps.artifacts.manifestRef(BUNDLE_KIND, p.bundleId);
      // The service-wide job result shape: outputs by role, artifacts as refs.
      return {
        outputs: {
          bundle_id: p.bundleId,
          images: String(summary.delivered),
          utility: summary.certificate.utilityStatus,
        },
        artifacts: [manifest],
      };
    } catch (e) {
      // An interrupted job (shutdown) is resumed later: keep its reservation. Failures and cancels release it.
      // Both abort with Cancelled; only a cancel() sets cancelRequested on the job.
      const cancelRequested = await this.deps.jobs.get(ctx.id).then(
        (j) => j.cancelRequested,
        () => false,
      );
      const shuttingDown = ctx.signal.aborted && !cancelRequested;
      if (!shuttingDown)
        await this.deps.audit
          .record({
            type: "request.failed",
            partner: p.partner,
            bundleId: p.bundleId,
            jobId: ctx.id,
            released: p.size,
            error: { kind: (e as { kind?: string }).kind ?? "Internal", message: (e as Error).message },
          })
          .catch((err) => this.deps.logger?.error("partner audit write failed", { error: (err as Error).message }));
      throw e;
    }
  };

  get resumeHandlers() {
    return { [PARTNER_JOB_KIND]: this.work };
  }

  /** The generators this partner may request, with their cards. */
  generators(account: PartnerAccount): Promise<GeneratorCard[]> {
    return listGenerators(this.deps, account);
  }

  bundle(account: PartnerAccount, bundleId: string): Promise<BundleView> {
    return readBundle(this.deps.artifacts, account.name, bundleId);
  }

  /**
   * Header + chunks per file of the bundle (the archive's entries), streamed from the store without holding the
   * archive in memory: the manifest knows each entry's offset, size and sha256 (the client verifies them).
   */
  async *download(account: PartnerAccount, bundleId: string, signal?: AbortSignal): AsyncGenerator<DownloadFrame> {
    const view = await this.bundle(account, bundleId);
    const entries = view.manifest.bundle.entries;
    await this.deps.audit.record({
      type: "call",
      partner: account.name,
      method: "DownloadDataset.start",
      bundleId,
      files: entries.length,
    });
    const stream = await this.deps.artifacts.openFile(BUNDLE_KIND, bundleId, ARCHIVE_FILE);
    let k = 0; // current entry
    let sent = 0; // bytes of it sent
    let headerSent = false;
    let pos = 0; // archive bytes read so far
    try {
      for await (const piece of stream as AsyncIterable<Buffer>) {
        const at = pos;
        pos += piece.length;
        while (k < entries.length) {
          const e = entries[k];
          if (!headerSent) {
            signal?.throwIfAborted();
            yield { header: { name: e.name, size: e.size, sha256: e.sha256, contentType: contentTypeOf(e.name) } };
            headerSent = true;
          }
          if (sent === e.size) {
            k++;
            sent = 0;
            headerSent = false;
            continue;
          }
          const need = e.offset + sent;
          if (need >= pos) break; // the rest of this entry is in later pieces
          const to = Math.min(e.offset + e.size, pos) - at;
          for (let o = need - at; o < to; o += DOWNLOAD_CHUNK_BYTES) {
            const data = piece.subarray(o, Math.min(to, o + DOWNLOAD_CHUNK_BYTES));
            yield { chunk: { offset: sent, data } };
            sent += data.length;
          }
        }
      }
    } finally {
      (stream as { destroy?: () => void }).destroy?.();
    }
    if (k < entries.length)
      throw new FailedPrecondition(
        `bundle ${bundleId}: its archive is shorter than its manifest says; ask the hospital`,
      );
  }

  async downloadUrl(
    account: PartnerAccount,
    bundleId: string,
    expiresInSeconds: number,
  ): Promise<{ url: string; expiresAt: Date; archive: ObjectRef }> {
    const seconds = expiresInSeconds || DEFAULT_URL_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_SECONDS)
      throw new InvalidInput(
        `expires_in_seconds ${expiresInSeconds} must be 1..${MAX_URL_SECONDS} (7 days; 0 = 1 hour)`,
      );
    const view = await this.bundle(account, bundleId);
    const url = await (this.deps.presignStore ?? this.deps.store).presignedGetUrl(view.archive.key, seconds);
    const expiresAt = new Date(Date.now() + seconds * 1000);
    await this.deps.audit.record({
      type: "download.url",
      partner: account.name,
      bundleId,
      expiresAt: expiresAt.toISOString(),
      archiveSha256: view.archive.sha256,
    });
    return { url, expiresAt, archive: view.archive };
  }
}
