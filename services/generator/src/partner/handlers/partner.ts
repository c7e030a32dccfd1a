// The partner listener's services and the server interceptors they need: PartnerService over the partner flow,
// a JobService view narrowed to the calling partner's own requests, bearer-token authentication and per-RPC
// scope check of EVERY call (health excepted), and an audit record of every call's outcome. These are served
// only on the partner listener (src/partner/handlers/partner-listener.ts, PARTNER_PORT), never on the internal port:
//   const partner = buildPartner({ artifacts, store, jobs, sampler, config, logger });
//   await startPartnerListener({ partner, host, port });
//   jobs.recover({ ...partner.resumeHandlers });
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Bundle,
  BundleFormat,
  type Certificate,
  type GeneratorCard as GeneratorCardProto,
  JobService,
  PartnerService,
} from "@synthmri/contracts";
import {
  type ArtifactStore,
  InvalidInput,
  type JobRunner,
  type Logger,
  type ObjectRef,
  type ObjectStore,
  PermissionDenied,
  Unauthenticated,
} from "@synthmri/platform";
import {
  authInterceptor,
  bearerToken,
  type CallInfo,
  GrpcStatus,
  jobHandlers,
  type ServerInterceptor,
  type ServiceImpl,
} from "@synthmri/rpc";
import type { PartnerConfig } from "../adapters/partner-config.js";
import { AuditLog } from "../domain/audit.js";
import type { BundleView } from "../domain/bundle-store.js";
import { PartnerFlow } from "../domain/flow.js";
import type { BundleFormatName } from "../domain/formats.js";
import type { PartnerSampler } from "../domain/ports.js";
import type { CertificateDoc } from "../domain/certificate.js";
import type { GeneratorCard } from "../domain/generators.js";
import { PARTNER_JOB_KIND } from "../domain/request.js";
import type { PartnerAccount, PartnerDirectory, PartnerScope } from "../domain/tokens.js";

export const PARTNER_SERVICE_NAME = PartnerService.typeName;

/**
 * Scope each JobService method needs on the partner listener. A partner's jobs are its dataset requests, so
 * following or cancelling them belongs to the scope that created them (no new scope: existing token files work).
 */
export const PARTNER_JOB_METHOD_SCOPES: Record<string, PartnerScope> = {
  GetJob: "datasets:request",
  WatchJob: "datasets:request",
  CancelJob: "datasets:request",
  ListJobs: "datasets:request",
};

function methodName(call: Pick<CallInfo, "method">): string {
  return call.method.slice(call.method.lastIndexOf("/") + 1);
}

/** The call's method as the audit log names it: bare for PartnerService, "JobService.WatchJob" otherwise. */
function auditMethod(call: CallInfo): string {
  const name = methodName(call);
  return call.service === PARTNER_SERVICE_NAME
    ? name
    : `${call.service.slice(call.service.lastIndexOf(".") + 1)}.${name}`;
}

/** PermissionDenied unless the partner holds the scope this call needs (PartnerService or the job view). */
function authorizeCall(directory: PartnerDirectory, account: PartnerAccount, call: CallInfo): void {
  const name = methodName(call);
  if (call.service === PARTNER_SERVICE_NAME) {
    directory.authorize(account, name);
    return;
  }
  const scope = call.service === JobService.typeName ? PARTNER_JOB_METHOD_SCOPES[name] : undefined;
  if (!scope) throw new PermissionDenied(`method ${call.method} is not open to partners`);
  if (!account.scopes.includes(scope))
    throw new PermissionDenied(`partner "${account.name}" lacks scope "${scope}" needed by ${name}`);
}

/** A partner sees a job only when it is a partner request it made itself (others read as unknown ids). */
export function isPartnersJob(job: { kind: string; params: unknown }, account: PartnerAccount | undefined): boolean {
  return (
    account !== undefined &&
    job.kind === PARTNER_JOB_KIND &&
    (job.params as { partner?: unknown } | null)?.partner === account.name
  );
}

export interface PartnerWiringDeps {
  artifacts: ArtifactStore;
  store: ObjectStore;
  /** The same bucket through the address partners reach, for presigned URLs (PARTNER_PUBLIC_S3_ENDPOINT). */
  presignStore?: ObjectStore;
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

function timestampOrUndefined(iso: string | undefined) {
  const d = iso ? new Date(iso) : undefined;
  return d && !Number.isNaN(d.getTime()) ? timestampFromDate(d) : undefined;
}

function generatorCardToProto(c: GeneratorCard): Partial<GeneratorCardProto> {
  const u = c.utility.evidence;
  const m = c.memorization.evidence;
  return {
    ensembleId: c.ensembleId,
    name: c.name,
    family: c.family,
    resolution: c.resolution,
    members: c.members,
    trainingData: { subjects: c.training.subjects, slices: c.training.slices } as GeneratorCardProto["trainingData"],
    utility: {
      status: c.utility.status,
      reportId: u?.reportId ?? "",
      condition: u?.condition ?? "",
      baseline: u?.baseline ?? "",
      diceMean: u?.diceMean ?? {},
      diceStd: u?.diceStd ?? {},
      pValues: u?.pValues ?? {},
      evaluatedAt: timestampOrUndefined(u?.reportCreatedAt),
    } as GeneratorCardProto["utility"],
    memorization: {
      status: c.memorization.status,
      reportId: m?.reportId ?? "",
      syntheticSamples: m?.syntheticSamples ?? 0,
      realTrainSlices: m?.realTrainSlices ?? 0,
      realHeldOutSlices: m?.realHeldOutSlices ?? 0,
      syntheticMaxNcc: m?.syntheticMaxNcc ?? {},
      realHeldOutMaxNcc: m?.realHeldOutMaxNcc ?? {},
      nccThreshold: m?.nccThreshold ?? 0,
      flaggedFraction: m?.flaggedFraction ?? 0,
    } as GeneratorCardProto["memorization"],
    createdAt: timestampOrUndefined(c.createdAt),
    isDefault: c.isDefault,
    gateNccThreshold: c.gateNccThreshold,
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
    presignStore: deps.presignStore,
    logger: deps.logger,
    provenance: deps.provenance,
    now: deps.now,
  });
  const { directory, enabled } = deps.config;

  // Every call on the partner listener except grpc.health (load balancer probes) needs a token and a scope.
  const auth = authInterceptor((call) => {
    if (!enabled)
      throw new Unauthenticated(
        "partner access is not configured on this server (the hospital sets PARTNER_TOKENS_FILE)",
      );
    const account = directory.authenticate(bearerToken(call.metadata));
    // Known before the scope check, so a refused call is audited under the partner's name.
    call.state.principal = account;
    authorizeCall(directory, account, call);
    return account;
  });
  const auditCalls: ServerInterceptor = {
    onEnd(call, outcome) {
      if (call.service.startsWith("grpc.")) return;
      const account = call.state.principal as PartnerAccount | undefined;
      audit.recordLater({
        type: "call",
        partner: account?.name ?? "_unknown",
        method: auditMethod(call),
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
    async listGenerators(_req, ctx) {
      const cards = await flow.generators(principal(ctx.state));
      return { generators: cards.map(generatorCardToProto) as GeneratorCardProto[] };
    },
    async getDownloadUrl(req, ctx) {
      const r = await flow.downloadUrl(principal(ctx.state), req.bundleId, req.expiresInSeconds);
      return { url: r.url, expiresAt: timestampFromDate(r.expiresAt), archive: refToProto(r.archive) };
    },
  };

  // The partner's own requests only; another partner's or an internal job answers NOT_FOUND like an unknown id.
  const jobs = jobHandlers(deps.jobs, {
    visible: (job, ctx) => isPartnersJob(job, ctx.state.principal as PartnerAccount | undefined),
  });

  return {
    flow,
    audit,
    /** PartnerService. */
    handlers,
    /** JobService narrowed to the calling partner's requests. */
    jobs,
    /** Install on the partner listener (order: auth before audit); they apply to every method there. */
    interceptors: [auth, auditCalls] as ServerInterceptor[],
    /** Merge into the JobRunner's recover() handlers. */
    resumeHandlers: flow.resumeHandlers,
  };
}

export type PartnerEndpoint = ReturnType<typeof buildPartner>;
