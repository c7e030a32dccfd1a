// The hospital's view of the partner flow (PartnerAdminService, internal port only): the audit log read back
// page by page, every partner request folded from it into one bundle summary, and revocation of a delivered
// bundle. The audit log is the record of truth: a bundle's life (accepted, exported, failed, URL handed out,
// revoked) is exactly its audit events, so listing needs no second index that could drift from it.
import { type ArtifactStore, FailedPrecondition, InvalidInput, NotFound, type ObjectStore } from "@synthmri/platform";
import { AUDIT_PREFIX, type AuditEvent, type AuditLog, auditDay } from "./audit.js";
import { ARCHIVE_FILE, BUNDLE_KIND, type BundleFields, checkBundleId } from "./bundle-store.js";

export type BundleStatusName = "building" | "ready" | "failed" | "revoked";

export interface BundleSummary {
  bundleId: string;
  partner: string;
  jobId: string;
  ensembleId: string;
  requested: number;
  delivered: number;
  format: string;
  purpose: string;
  status: BundleStatusName;
  archiveBytes: number;
  requestedAt?: Date;
  readyAt?: Date;
  urlExpiresAt?: Date;
  utilityStatus: string;
  reason: string;
}

export interface AuditEntry {
  key: string;
  type: string;
  partner: string;
  at: Date;
  bundleId: string;
  /** The stored event. */
  event: AuditEvent;
}

/** Audit events a bundle summary is folded from (the key names the type, so the others are never read). */
const BUNDLE_EVENTS = new Set(["request.accepted", "export", "request.failed", "download.url", "bundle.revoked"]);
const DAY_MS = 86_400_000;
export const DEFAULT_AUDIT_WINDOW_DAYS = 7;
export const MAX_AUDIT_WINDOW_DAYS = 400;
const PARTNER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TYPE = /^[a-z][a-z.]{0,40}$/;

/** <prefix><YYYY-MM-DD>/<partner>/<YYYY-MM-DDTHHMMSSmmmZ>-<type>-<24 hex>.json, as AuditLog.record writes it. */
const KEY =
  /^audit\/partner\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-([a-z.]+)-[0-9a-f]{24}\.json$/;

export function parseAuditKey(key: string): { partner: string; at: Date; type: string } | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const at = new Date(`${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  return Number.isNaN(at.getTime()) ? undefined : { partner: m[2], at, type: m[8] };
}

export interface AuditQuery {
  partner: string;
  since?: Date;
  until?: Date;
  type: string;
  pageSize: number;
  pageToken: string;
}

export interface BundleQuery {
  partner: string;
  pageSize: number;
  pageToken: string;
}

function checkPartner(partner: string): void {
  if (partner && !PARTNER.test(partner))
    throw new InvalidInput(`partner "${partner.slice(0, 80)}" is not a partner name`);
}

function pageSize(n: number, def: number, max: number, what: string): number {
  if (n === 0) return def;
  if (n > max) throw new InvalidInput(`${what} ${n} is more than ${max}`);
  return n;
}

export class PartnerAdmin {
  constructor(
    private readonly deps: { store: ObjectStore; artifacts: ArtifactStore; audit: AuditLog; now?: () => Date },
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Events newest first; the page token is the key of the last event of the previous page. */
  async auditEvents(q: AuditQuery): Promise<{ events: AuditEntry[]; nextPageToken: string }> {
    checkPartner(q.partner);
    if (q.type && !TYPE.test(q.type))
      throw new InvalidInput(`type "${q.type.slice(0, 60)}" is not an audit event type`);
    const size = pageSize(q.pageSize, 100, 1000, "page_size");
    const until = q.until ?? this.now();
    const since = q.since ?? new Date(until.getTime() - DEFAULT_AUDIT_WINDOW_DAYS * DAY_MS);
    if (since.getTime() >= until.getTime()) throw new InvalidInput("since must be before until");
    if (until.getTime() - since.getTime() > MAX_AUDIT_WINDOW_DAYS * DAY_MS)
      throw new InvalidInput(`the time range spans more than ${MAX_AUDIT_WINDOW_DAYS} days; narrow since/until`);
    const after = q.pageToken ? decodeToken(q.pageToken) : undefined; // the previous page's last event
    const keys: { key: string; partner: string; at: Date; type: string }[] = [];
    for (
      let day = startOfDay(until);
      day.getTime() >= startOfDay(since).getTime();
      day = new Date(day.getTime() - DAY_MS)
    ) {
      const prefix = `${AUDIT_PREFIX}${auditDay(day)}/${q.partner ? `${q.partner}/` : ""}`;
      for await (const o of this.deps.store.listObjects(prefix)) {
        const k = parseAuditKey(o.key);
        if (!k || (q.type && k.type !== q.type)) continue;
        if (k.at < since || k.at >= until || (after && !olderThan({ key: o.key, at: k.at }, after))) continue;
        keys.push({ key: o.key, ...k });
      }
    }
    // Newest first; keys of one partner and day sort by time, across partners the time decides.
    keys.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.key < b.key ? 1 : -1));
    const page = keys.slice(0, size);
    const events = await Promise.all(page.map(async (k) => this.entry(k)));
    return { events, nextPageToken: keys.length > size ? encodeToken(page[page.length - 1].key) : "" };
  }

  /** Every partner request (one per bundle id), newest first. */
  async bundles(q: BundleQuery): Promise<{ bundles: BundleSummary[]; nextPageToken: string }> {
    checkPartner(q.partner);
    const size = pageSize(q.pageSize, 50, 500, "page_size");
    const start = q.pageToken ? Number.parseInt(q.pageToken, 10) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new InvalidInput(`page_token "${q.pageToken.slice(0, 40)}" is not one this server issued`);
    const all = (await this.fold()).filter((b) => !q.partner || b.partner === q.partner);
    const page = await Promise.all(all.slice(start, start + size).map((b) => this.withArchive(b)));
    return { bundles: page, nextPageToken: start + size < all.length ? String(start + size) : "" };
  }

  /** Deletes a delivered bundle's files (the partner gets NOT_FOUND) after auditing the revocation. */
  async revoke(bundleId: string, reason: string): Promise<BundleSummary> {
    checkBundleId(bundleId);
    const why = reason.trim();
    if (!why) throw new InvalidInput("reason is empty: say why the bundle is revoked (it goes to the audit log)");
    if (why.length > 2000) throw new InvalidInput("reason is longer than 2000 characters");
    const manifest = await this.deps.artifacts.tryGetManifest<BundleFields>(BUNDLE_KIND, bundleId);
    if (!manifest) {
      const known = (await this.fold()).find((b) => b.bundleId === bundleId);
      if (known?.status === "revoked") return known;
      if (known?.status === "building")
        throw new FailedPrecondition(`bundle ${bundleId} is still being built: cancel its job ${known.jobId} instead`);
      throw new NotFound(`bundle ${bundleId} not found (ListBundles shows the partners' bundles)`);
    }
    // Audit first: a revocation is never done without its record; a failed delete is retried by the caller
    // (RevokeBundle is idempotent) and only adds a second record.
    await this.deps.audit.record({
      type: "bundle.revoked",
      partner: manifest.partner,
      bundleId,
      jobId: manifest.bundle.jobId,
      reason: why,
      archiveSha256: manifest.checksums[ARCHIVE_FILE]?.sha256 ?? "",
      by: "hospital (PartnerAdminService)",
    });
    await this.deps.artifacts.deleteArtifact(BUNDLE_KIND, bundleId);
    const folded = (await this.fold()).find((b) => b.bundleId === bundleId);
    if (!folded) throw new NotFound(`bundle ${bundleId} has no audit record of its request`);
    return folded;
  }

  private async entry(k: { key: string; partner: string; at: Date; type: string }): Promise<AuditEntry> {
    const event = JSON.parse((await this.deps.store.getBuffer(k.key)).toString("utf8")) as AuditEvent;
    return {
      key: k.key,
      type: k.type,
      partner: k.partner,
      at: k.at,
      bundleId: typeof event.bundleId === "string" ? event.bundleId : "",
      event,
    };
  }

  /** Every bundle's summary from its audit events, newest request first. */
  private async fold(): Promise<BundleSummary[]> {
    const keys: { key: string; partner: string; at: Date; type: string }[] = [];
    for await (const o of this.deps.store.listObjects(AUDIT_PREFIX)) {
      const k = parseAuditKey(o.key);
      if (k && BUNDLE_EVENTS.has(k.type)) keys.push({ key: o.key, ...k });
    }
    keys.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.key < b.key ? -1 : 1));
    const entries = await mapLimit(keys, 16, (k) => this.entry(k));
    const byId = new Map<string, BundleSummary>();
    for (const { type, at, event: e, bundleId, partner } of entries) {
      if (!bundleId) continue;
      let b = byId.get(bundleId);
      if (!b) {
        b = blank(bundleId, partner);
        byId.set(bundleId, b);
      }
      if (type === "request.accepted") {
        b.requestedAt = at;
        b.jobId = str(e.jobId);
        b.ensembleId = str(e.ensembleId);
        b.requested = num(e.size);
        b.format = str(e.format);
        b.purpose = str(e.purpose);
        if (b.status !== "ready" && b.status !== "failed" && b.status !== "revoked") b.status = "building";
      } else if (type === "export") {
        b.readyAt = at;
        b.delivered = num(e.images);
        b.jobId ||= str(e.jobId);
        b.utilityStatus = str((e.certificate as { utilityStatus?: unknown } | undefined)?.utilityStatus);
        if (b.status !== "revoked") b.status = "ready";
      } else if (type === "request.failed") {
        b.status = "failed";
        b.reason = str((e.error as { message?: unknown } | undefined)?.message);
      } else if (type === "download.url") {
        const exp = new Date(str(e.expiresAt));
        if (!Number.isNaN(exp.getTime()) && (!b.urlExpiresAt || exp > b.urlExpiresAt)) b.urlExpiresAt = exp;
      } else if (type === "bundle.revoked") {
        b.status = "revoked";
        b.reason = str(e.reason);
      }
    }
    return [...byId.values()].sort(
      (a, b) => (b.requestedAt?.getTime() ?? 0) - (a.requestedAt?.getTime() ?? 0) || (a.bundleId < b.bundleId ? 1 : -1),
    );
  }

  private async withArchive(b: BundleSummary): Promise<BundleSummary> {
    if (b.status !== "ready") return b;
    const m = await this.deps.artifacts.tryGetManifest<BundleFields>(BUNDLE_KIND, b.bundleId);
    return { ...b, archiveBytes: m?.checksums[ARCHIVE_FILE]?.size ?? 0 };
  }
}

function blank(bundleId: string, partner: string): BundleSummary {
  return {
    bundleId,
    partner,
    jobId: "",
    ensembleId: "",
    requested: 0,
    delivered: 0,
    format: "",
    purpose: "",
    status: "building",
    archiveBytes: 0,
    utilityStatus: "",
    reason: "",
  };
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function startOfDay(d: Date): Date {
  return new Date(`${auditDay(d)}T00:00:00.000Z`);
}

function encodeToken(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

function decodeToken(token: string): { key: string; at: Date } {
  const key = Buffer.from(token, "base64url").toString("utf8");
  const parsed = parseAuditKey(key);
  if (!parsed) throw new InvalidInput(`page_token "${token.slice(0, 40)}" is not one this server issued`);
  return { key, at: parsed.at };
}

/** Whether x comes after `than` in the listing order (time, then key, both descending). */
function olderThan(x: { key: string; at: Date }, than: { key: string; at: Date }): boolean {
  return x.at.getTime() < than.at.getTime() || (x.at.getTime() === than.at.getTime() && x.key < than.key);
}

/** Reads with at most `limit` requests in flight (an audit log can hold thousands of events). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
