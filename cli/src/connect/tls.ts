// One way for every CLI command that talks to a service to get its channel credentials: --tls-ca/--tls-cert/
// --tls-key (and --tls-server-name) or the same environment variables the services read (TLS_CA, TLS_CERT,
// TLS_KEY), so an operator with the deployment's client certificate reaches a compose or Helm install over mTLS.
import type { ClientOptions, TlsOptions } from "@synthmri/rpc";

/** parseArgs options of the TLS flags, to spread into a command's options. */
export const TLS_ARG_OPTIONS = {
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-server-name": { type: "string" },
  plaintext: { type: "boolean" },
} as const;

export const TLS_USAGE = `TLS (default: the TLS_CA, TLS_CERT, TLS_KEY environment variables, as the services read them):
  --tls-ca FILE            CA bundle that the server's certificate chains to (turns TLS on)
  --tls-cert FILE --tls-key FILE
                           client certificate and key (mTLS: TLS_CLIENT_AUTH=true deployments)
  --tls-server-name NAME   name to verify in the server's certificate when it differs from the address host
  --plaintext              no TLS even if the TLS_* variables are set`;

export interface TlsArgs {
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "tls-server-name"?: string;
  plaintext?: boolean;
}

/** A usage problem with the TLS flags (a command reports it with its usage and exit code 2). */
export class TlsArgsError extends Error {}

/**
 * The client options (credentials and target-name override) from the flags, falling back to the environment.
 * Flags win over the environment one by one; --plaintext turns both off. Undefined tls = plaintext.
 */
export function clientTlsOptions(
  args: TlsArgs,
  env: NodeJS.ProcessEnv = process.env,
): Pick<ClientOptions, "tls" | "channelOptions"> {
  if (args.plaintext) {
    if (args["tls-ca"] || args["tls-cert"] || args["tls-key"])
      throw new TlsArgsError("--plaintext cannot be combined with --tls-ca/--tls-cert/--tls-key");
    return {};
  }
  const pick = (flag: keyof TlsArgs, name: string) => {
    const v = args[flag] ?? env[name];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const caPath = pick("tls-ca", "TLS_CA");
  const certPath = pick("tls-cert", "TLS_CERT");
  const keyPath = pick("tls-key", "TLS_KEY");
  const serverName = pick("tls-server-name", "TLS_SERVER_NAME");
  if (!caPath && !certPath && !keyPath) {
    if (serverName && args["tls-server-name"]) throw new TlsArgsError("--tls-server-name needs TLS (--tls-ca)");
    return {};
  }
  if (Boolean(certPath) !== Boolean(keyPath))
    throw new TlsArgsError("a client certificate needs both --tls-cert and --tls-key (or TLS_CERT and TLS_KEY)");
  const tls: TlsOptions = {
    ...(caPath ? { caPath } : {}),
    ...(certPath ? { certPath } : {}),
    ...(keyPath ? { keyPath } : {}),
  };
  return {
    tls,
    ...(serverName
      ? { channelOptions: { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName } }
      : {}),
  };
}
