// PartnerService over the partner flow, plus the server interceptors it needs: bearer-token authentication and
// scope check for PartnerService methods only (internal services keep calling the generator without tokens),
// and an audit record of every PartnerService call's outcome. Wiring (in server.ts):
//   const partner = buildPartner({ artifacts, store, jobs, sampler, config, logger });
//   createServer({ interceptors: [...partner.interceptors] }).add(PartnerService, partner.handlers);
//   jobs.recover({ ...partner.resumeHandlers });
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Bundle, BundleFormat, type Certificate, PartnerService } from "@synthmri/contracts";
import {
  type ArtifactStore,
  InvalidInput,
  type JobRunner,
  type Logger,
  type ObjectRef,
  type ObjectStore,
  Unauthenticated,
} from "@synthmri/platform";
import { authInterceptor, bearerToken, type ServerInterceptor, type ServiceImpl } from "@synthmri/rpc";
import { GrpcStatus } from "@synthmri/rpc";
import type { PartnerConfig } from "../adapters/partner-config.js";
import { AuditLog } from "../domain/partner/audit.js";
import type { BundleView } from "../domain/partner/bundle-store.js";
import { PartnerFlow } from "../domain/partner/flow.js";
import type { BundleFormatName } from "../domain/partner/formats.js";
import type { PartnerSampler } from "../domain/partner/ports.js";
import type { CertificateDoc } from "../domain/partner/certificate.js";
import type { PartnerAccount } from "../domain/partner/tokens.js";

export const PARTNER_SERVICE_NAME = PartnerService.typeName;

export interface PartnerWiringDeps {
  artifacts: ArtifactStore;
  store: ObjectStore;
  jobs: JobRunner;
  sampler: PartnerSampler;
  config: PartnerConfig;
  logger?: Logger;
  provenance?: Record<string, unknown>;
  now?: () => Date;
}

function principal(state: Record<string, unknown>): PartnerAccount {
  const p = state.principal as PartnerAccount | undefined;
  // Only reachable if the interceptor was not installed: refuse rather than serve anonymously.
  if (!p) throw new Unauthenticated("partner authentication is not configured on this server");
  return p;
}

function formatName(f: BundleFormat): BundleFormatName {
  if (f === BundleFormat.UNSPECIFIED || f === BundleFormat.NNUNET) return "nnunet";
  if (f === BundleFormat.TENSOR_SHARDS) return "tensor-shards";
  throw new InvalidInput(`format ${f} is not a bundle format (NNUNET or TENSOR_SHARDS)`);
}

function certificateToProto(c: CertificateDoc): Partial<Certificate> {
  return {
    ensembleId: c.ensembleId,
    reportId: c.reportId,
    diceMean: c.diceMean,
    diceStd: c.diceStd,
    pValues: c.pValues,
    quality: c.quality,
    memorizationThreshold: c.memorizationThreshold,
    rejectedAnatomy: c.rejectedAnatomy,
    rejectedMemorization: c.rejectedMemorization,
    licence: c.licence,
    issuedAt: timestampFromDate(new Date(c.issuedAt)),
    utilityStatus: c.utilityStatus,
    rejectedFilters: c.rejectedFilters,
    sampled: c.sampled,
    realTrainSlices: c.realTrainSlices,
    condition: c.utility?.condition ?? "",
  };
}

function refToProto(r: ObjectRef) {
  return { bucket: r.bucket, key: r.key, sha256: r.sha256, size: BigInt(r.size) };
}

function bundleToProto(v: BundleView): Partial<Bundle> {
  const b = v.manifest.bundle;
  return {
    id: v.id,
    format: b.format === "nnunet" ? BundleFormat.NNUNET : BundleFormat.TENSOR_SHARDS,
    size: b.size,
    certificate: certificateToProto(b.certificate) as Certificate,
    files: v.files.map(refToProto) as Bundle["files"],
    jobId: b.jobId,
    createdAt: timestampFromDate(new Date(v.manifest.createdAt)),
  };
}

export function buildPartner(deps: PartnerWiringDeps) {
  const audit = new AuditLog(deps.store, deps.logger, deps.now);
  const flow = new PartnerFlow({
    artifacts: deps.artifacts,
    sampler: deps.sampler,
    settings: deps.config.settings,
    jobs: deps.jobs,
    audit,
    store: deps.store,
    logger: deps.logger,
    provenance: deps.provenance,
    now: deps.now,
  });
  const { directory, enabled } = deps.config;
  const isPartnerMethod = (method: string) => method.startsWith(`/${PARTNER_SERVICE_NAME}/`);

  const auth = authInterceptor(
    (call) => {
      if (!enabled)
        throw new Unauthenticated(
          "partner access is not configured on this server (the hospital sets PARTNER_TOKENS_FILE)",
        );
      const account = directory.authenticate(bearerToken(call.metadata));
      // Known before the scope check, so a refused call is audited under the partner's name.
      call.state.principal = account;
      directory.authorize(account, call.method.slice(call.method.lastIndexOf("/") + 1));
      return account;
    },
    { appliesTo: isPartnerMethod },
  );
  const auditCalls: ServerInterceptor = {
    onEnd(call, outcome) {
      if (!isPartnerMethod(call.method)) return;
      const account = call.state.principal as PartnerAccount | undefined;
      audit.recordLater({
        type: "call",
        partner: account?.name ?? "_unknown",
        method: call.method.slice(call.method.lastIndexOf("/") + 1),
        code: GrpcStatus[outcome.code] ?? String(outcome.code),
        details: outcome.code === GrpcStatus.OK ? undefined : outcome.details,
        durationMs: Math.round(outcome.durationMs),
      });
    },
  };

  const handlers: ServiceImpl<(typeof PartnerService)["method"]> = {
    async requestSyntheticDataset(req, ctx) {
      const account = principal(ctx.state);
      return flow.request(account, {
        size: req.size,
        ensembleId: req.ensembleId,
        format: formatName(req.format),
        filters: {
          minTumorFraction: req.filters?.minTumorFraction ?? 0,
          maxTumorFraction: req.filters?.maxTumorFraction ?? 0,
          requireAllClasses: req.filters?.requireAllClasses ?? false,
        },
        seed: req.seed,
        purpose: req.purpose,
      });
    },
    async getBundle(req, ctx) {
      return { bundle: bundleToProto(await flow.bundle(principal(ctx.state), req.bundleId)) as Bundle };
    },
    async *downloadDataset(req, ctx) {
      for await (const f of flow.download(principal(ctx.state), req.bundleId, ctx.signal)) {
        if ("header" in f)
          yield { file: { frame: { case: "header", value: { ...f.header, size: BigInt(f.header.size) } } } };
        else
          yield { file: { frame: { case: "chunk", value: { offset: BigInt(f.chunk.offset), data: f.chunk.data } } } };
      }
    },
    async getDownloadUrl(req, ctx) {
      const r = await flow.downloadUrl(principal(ctx.state), req.bundleId, req.expiresInSeconds);
      return { url: r.url, expiresAt: timestampFromDate(r.expiresAt), archive: refToProto(r.archive) };
    },
  };

  return {
    flow,
    audit,
    handlers,
    /** Install on the generator's server (order: auth before audit). */
    interceptors: [auth, auditCalls] as ServerInterceptor[],
    /** Merge into the JobRunner's recover() handlers. */
    resumeHandlers: flow.resumeHandlers,
  };
}
