// Images-per-day quotas, counted from the audit log itself (the log is the single record, so a restart cannot
// reset a quota): accepted requests reserve their size, failed or cancelled jobs release it. Reservations of
// one partner are serialised in this process so two concurrent requests cannot both squeeze under the limit.
import { ResourceExhausted } from "@synthmri/platform";
import type { AuditEvent, AuditLog } from "./audit.js";
import type { PartnerAccount } from "./tokens.js";

export function imagesUsed(events: AuditEvent[]): number {
  let used = 0;
  for (const e of events) {
    if (e.type === "request.accepted") used += Number(e.size ?? 0);
    else if (e.type === "request.failed") used -= Number(e.released ?? 0);
  }
  return Math.max(0, used);
}

export class QuotaLedger {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly audit: AuditLog) {}

  /**
   * Runs `accept` (which must write the request.accepted event) only if `size` more images fit today's quota;
   * ResourceExhausted otherwise, naming what is left.
   */
  async reserve<T>(account: PartnerAccount, size: number, accept: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(account.name) ?? Promise.resolve();
    const run = prev
      .catch(() => undefined)
      .then(async () => {
        const day = this.audit.today();
        const used = imagesUsed(await this.audit.events(account.name, day));
        if (used + size > account.imagesPerDay)
          throw new ResourceExhausted(
            `partner "${account.name}" has used ${used} of ${account.imagesPerDay} images for ${day} (UTC); ` +
              `${Math.max(0, account.imagesPerDay - used)} left, ${size} requested. Ask for fewer images or try tomorrow`,
          );
        return accept();
      });
    this.locks.set(account.name, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(account.name) === run) this.locks.delete(account.name);
    }
  }
}
