// synthmri.generator.v1.PartnerAdminService: the hospital's list of partner bundles, the audit log and bundle
// revocation. Registered on the generator's INTERNAL server only (server.ts): the partner listener never
// serves it. Decode -> domain (partner/domain/admin.ts) -> encode.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BundleStatus, type PartnerAdminService } from "@synthmri/contracts";
import type { ArtifactStore, Logger, ObjectStore } from "@synthmri/platform";
import type { ServiceImpl } from "@synthmri/rpc";
import { type BundleStatusName, type BundleSummary, PartnerAdmin } from "../domain/admin.js";
import { AuditLog } from "../domain/audit.js";

const STATUS: Record<BundleStatusName, BundleStatus> = {
  building: BundleStatus.BUILDING,
  ready: BundleStatus.READY,
  failed: BundleStatus.FAILED,
  revoked: BundleStatus.REVOKED,
};

function summaryToProto(b: BundleSummary) {
  return {
    bundleId: b.bundleId,
    partner: b.partner,
    jobId: b.jobId,
    ensembleId: b.ensembleId,
    requested: b.requested,
    delivered: b.delivered,
    format: b.format,
    purpose: b.purpose,
    status: STATUS[b.status],
    archiveBytes: BigInt(b.archiveBytes),
    requestedAt: b.requestedAt ? timestampFromDate(b.requestedAt) : undefined,
    readyAt: b.readyAt ? timestampFromDate(b.readyAt) : undefined,
    urlExpiresAt: b.urlExpiresAt ? timestampFromDate(b.urlExpiresAt) : undefined,
    utilityStatus: b.utilityStatus,
    reason: b.reason,
  };
}

export function partnerAdminHandlers(deps: {
  store: ObjectStore;
  artifacts: ArtifactStore;
  logger?: Logger;
  now?: () => Date;
}): ServiceImpl<(typeof PartnerAdminService)["method"]> {
  const admin = new PartnerAdmin({ ...deps, audit: new AuditLog(deps.store, deps.logger, deps.now) });
  return {
    async listBundles(req) {
      const r = await admin.bundles({ partner: req.partner, pageSize: req.pageSize, pageToken: req.pageToken });
      return { bundles: r.bundles.map(summaryToProto), nextPageToken: r.nextPageToken };
    },
    async listAuditEvents(req) {
      const r = await admin.auditEvents({
        partner: req.partner,
        type: req.type,
        since: req.since ? timestampDate(req.since) : undefined,
        until: req.until ? timestampDate(req.until) : undefined,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return {
        events: r.events.map((e) => ({
          type: e.type,
          partner: e.partner,
          at: timestampFromDate(e.at),
          bundleId: e.bundleId,
          json: JSON.stringify(e.event),
        })),
        nextPageToken: r.nextPageToken,
      };
    },
    async revokeBundle(req) {
      return { bundle: summaryToProto(await admin.revoke(req.bundleId, req.reason)) };
    },
  };
}
