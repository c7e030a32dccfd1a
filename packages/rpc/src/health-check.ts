// grpc.health.v1 Check without a generated stub: the request is { service: string } (field 1) and the
// response { status: enum } (field 1, SERVING = 1), so both encode in a few bytes by hand.
import * as grpc from "@grpc/grpc-js";

export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN" | "UNREACHABLE";
const STATUS_NAMES: HealthStatus[] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new Error("health service name too long");
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

function decodeResponse(buf: Buffer): HealthStatus {
  // Field 1, wire type 0 (varint): tag byte 0x08. Absent field = 0 (UNKNOWN).
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] === 0x08) return STATUS_NAMES[buf[i + 1] ?? 0] ?? "UNKNOWN";
  }
  return "UNKNOWN";
}

/** One health check of `service` ("" = the whole server) at `address`. */
export function checkHealth(address: string, service = "", timeoutMs = 2000): Promise<HealthStatus> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<HealthStatus>((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      encodeRequest,
      decodeResponse,
      service,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        client.close();
        if (err) resolve(err.code === grpc.status.NOT_FOUND ? "SERVICE_UNKNOWN" : "UNREACHABLE");
        else resolve(res ?? "UNKNOWN");
      },
    );
  });
}
