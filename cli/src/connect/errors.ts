// One wording for a failed call from the CLI: what went wrong, in the server's words, and what to check, without
// grpc-js' connection internals (an empty "Resolution note:" says nothing to an operator).
import { GrpcStatus, isRpcError } from "@synthmri/rpc";

/** A one-line message (plus a hint on a second line where useful) for an error of a call to `service` at `addr`. */
export function describeCallError(e: unknown, service: string, addr: string): string {
  if (!isRpcError(e)) return (e as Error).message ?? String(e);
  if (
    e.code === GrpcStatus.UNAVAILABLE &&
    /No connection established|connect|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Failed to connect/i.test(e.details)
  ) {
    const cause = /ECONNREFUSED/.test(e.details)
      ? "connection refused"
      : /ENOTFOUND|EAI_AGAIN/.test(e.details)
        ? "unknown host"
        : /ssl|tls|certificate|handshake|alert/i.test(e.details)
          ? "TLS handshake failed"
          : /ETIMEDOUT|EHOSTUNREACH/.test(e.details)
            ? "host unreachable"
            : "no connection";
    const hint =
      cause === "TLS handshake failed"
        ? "check --tls-ca/--tls-cert/--tls-key (or TLS_CA, TLS_CERT, TLS_KEY) and the server's certificate name"
        : `is the ${service} running and listening on ${addr}? (TLS deployments also need --tls-ca, and mTLS ones --tls-cert/--tls-key)`;
    return `cannot reach the ${service} at ${addr}: ${cause}\n  ${hint}`;
  }
  if (e.code === GrpcStatus.DEADLINE_EXCEEDED) return `the ${service} at ${addr} did not answer in time (${e.details})`;
  const details = e.details.replace(/\s*Resolution note:\s*$/, "");
  return `${e.kind ?? GrpcStatus[e.code] ?? e.code}: ${details}`;
}
