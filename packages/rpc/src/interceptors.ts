import * as grpc from "@grpc/grpc-js";
import { type Logger, Unauthenticated } from "@synthmri/platform";
import type { CallInfo, ServerInterceptor } from "./context.js";

/** Logs method, status code and duration of every call (never payloads or metadata values). */
export function loggingInterceptor(logger: Logger, opts: { skipHealth?: boolean } = {}): ServerInterceptor {
  const skipHealth = opts.skipHealth ?? true;
  return {
    onEnd(call, outcome) {
      if (skipHealth && call.service.startsWith("grpc.")) return;
      const fields = {
        method: call.method,
        code: grpc.status[outcome.code] ?? outcome.code,
        durationMs: Math.round(outcome.durationMs * 10) / 10,
      };
      if (outcome.code === grpc.status.OK || outcome.code === grpc.status.CANCELLED) logger.info("rpc", fields);
      else if (outcome.code === grpc.status.INTERNAL || outcome.code === grpc.status.UNKNOWN)
        logger.error("rpc", fields);
      else logger.warn("rpc", { ...fields, details: outcome.details });
    },
  };
}

/**
 * Auth hook: `check` gets the method and metadata of every call (except grpc.health / reflection) and either
 * returns a principal (stored as context.state.principal) or throws Unauthenticated / PermissionDenied.
 * `appliesTo` limits it to some methods (e.g. only PartnerService).
 */
export function authInterceptor(
  check: (call: CallInfo) => unknown | Promise<unknown>,
  opts: { appliesTo?: (method: string) => boolean } = {},
): ServerInterceptor {
  return {
    async onCall(call) {
      if (call.service.startsWith("grpc.")) return;
      if (opts.appliesTo && !opts.appliesTo(call.method)) return;
      const principal = await check(call);
      if (principal !== undefined) call.state.principal = principal;
    },
  };
}

/** Longest bearer token looked at; longer ones are refused unread (no hashing of megabytes per call). */
export const MAX_BEARER_TOKEN_CHARS = 4096;

/** The bearer token of "authorization: Bearer <token>", or undefined; Unauthenticated when absurdly long. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const v = metadata.get("authorization")[0];
  if (typeof v !== "string") return undefined;
  if (v.length > MAX_BEARER_TOKEN_CHARS + 16) {
    throw new Unauthenticated(
      `the authorization header is ${v.length} characters; bearer tokens are at most ${MAX_BEARER_TOKEN_CHARS}`,
    );
  }
  const m = /^Bearer\s+(.+)$/i.exec(v.trim());
  return m ? m[1] : undefined;
}
