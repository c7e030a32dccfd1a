// Optional TLS / mTLS from PEM files (paths come from configuration).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";

export interface TlsOptions {
  /** Server (or client, for mTLS) certificate chain, PEM. */
  certPath?: string;
  /** Private key of certPath, PEM. */
  keyPath?: string;
  /** CA bundle to verify the peer, PEM. On a server it enables client-certificate checks (mTLS). */
  caPath?: string;
  /** Server only: reject clients without a certificate signed by caPath (default true when caPath is set). */
  requireClientCert?: boolean;
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read TLS ${what} from ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export async function serverCredentials(tls: TlsOptions): Promise<grpc.ServerCredentials> {
  if (!tls.certPath || !tls.keyPath) {
    throw new Error("TLS on a server needs both certPath and keyPath (PEM files)");
  }
  const [cert, key, ca] = await Promise.all([
    readPem(tls.certPath, "certificate"),
    readPem(tls.keyPath, "private key"),
    tls.caPath ? readPem(tls.caPath, "CA bundle") : Promise.resolve(null),
  ]);
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: cert, private_key: key }],
    ca !== null && (tls.requireClientCert ?? true),
  );
}

/** Client credentials (synchronous so clients can be created without awaiting). */
export function clientCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const read = (path: string | undefined, what: string) => {
    if (!path) return null;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read TLS ${what} from ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
  return grpc.credentials.createSsl(
    read(tls.caPath, "CA bundle"),
    read(tls.keyPath, "private key"),
    read(tls.certPath, "certificate"),
  );
}

/** The TLS settings of the suite's configuration (TLS_CERT, TLS_KEY, TLS_CA, TLS_CLIENT_AUTH), or undefined when off. */
export function tlsFromConfig(tls: {
  enabled: boolean;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  clientAuth?: boolean;
}): TlsOptions | undefined {
  if (!tls.enabled) return undefined;
  return { certPath: tls.certFile, keyPath: tls.keyFile, caPath: tls.caFile, requireClientCert: tls.clientAuth };
}
