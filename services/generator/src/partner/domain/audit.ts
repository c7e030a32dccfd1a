// Append-only partner audit log in the object store: one JSON object per event under
// audit/partner/<YYYY-MM-DD>/<partner>/<time>-<event>-<random>.json. A key is never reused (time + 96 random
// bits, and the writer checks it is absent first), so no event is ever overwritten. Events hold who, what,
// outcome and exported file checksums; never voxel data or subject identifiers (synthetic samples have none).
import { randomBytes } from "node:crypto";
import type { Logger, ObjectStore } from "@synthmri/platform";

export const AUDIT_PREFIX = "audit/partner/";

export type AuditEventType =
  /** Every PartnerService call's outcome (written by the interceptor). */
  | "call"
  /** A request accepted: images reserved against the quota. */
  | "request.accepted"
  /** A request refused before a job started (bad input, quota). */
  | "request.refused"
  /** A finished bundle: what was exported. */
  | "export"
  /** A job that failed or was cancelled: its images are released from the quota. */
  | "request.failed"
  /** A presigned URL handed out. */
  | "download.url"
  /** The hospital revoked a delivered bundle (PartnerAdminService.RevokeBundle): its files are deleted. */
  | "bundle.revoked";

export interface AuditEvent {
  type: AuditEventType;
  partner: string;
  /** ISO 8601, set by the log. */
  at?: string;
  [field: string]: unknown;
}

export function auditDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export class AuditLog {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly logger?: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes one event; resolves with its key once stored. */
  async record(event: AuditEvent): Promise<string> {
    const at = this.now();
    const partner = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(event.partner) ? event.partner : "_unknown";
    const stamp = at.toISOString().replace(/[:.]/g, "");
    for (;;) {
      const key = `${AUDIT_PREFIX}${auditDay(at)}/${partner}/${stamp}-${event.type}-${randomBytes(12).toString("hex")}.json`;
      if (await this.store.exists(key)) continue; // never overwrite (astronomically unlikely)
      await this.store.putObject(key, JSON.stringify({ ...event, partner, at: at.toISOString() }), {
        contentType: "application/json",
      });
      return key;
    }
  }

  /** Fire-and-forget variant for hooks that cannot await (interceptor onEnd); flush() awaits them. */
  recordLater(event: AuditEvent): void {
    const p = this.record(event).then(
      () => undefined,
      (e) => this.logger?.error("partner audit write failed", { type: event.type, error: (e as Error).message }),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Every event of a partner on a UTC day, oldest first. */
  async events(partner: string, day: string): Promise<AuditEvent[]> {
    const out: { key: string; e: AuditEvent }[] = [];
    for await (const o of this.store.listObjects(`${AUDIT_PREFIX}${day}/${partner}/`)) {
      if (!o.key.endsWith(".json")) continue;
      out.push({ key: o.key, e: JSON.parse((await this.store.getBuffer(o.key)).toString("utf8")) as AuditEvent });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1)).map((x) => x.e);
  }

  today(): string {
    return auditDay(this.now());
  }
}
