// Helpers for tests of gRPC servers built on this package (imported as "@synthmri/rpc/testing"; not part of
// the production API): the status of a call that must fail, and whether a listener serves grpc.reflection.
import * as grpc from "@grpc/grpc-js";
import type { RpcError } from "./status.js";

/** The error a call rejected with; fails the test when the call succeeded instead. */
export async function rpcFailure(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    return e as RpcError;
  }
  throw new Error("expected the call to fail");
}

/** Status code of a grpc.reflection.v1 list_services call (OK where the server serves reflection). */
export function reflectionCode(address: string): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  return new Promise((resolve) => {
    call.on("data", () => call.end());
    call.on("error", (e: grpc.ServiceError) => resolve(e.code));
    call.on("status", (s: grpc.StatusObject) => {
      client.close();
      resolve(s.code);
    });
    // ServerReflectionRequest { list_services (field 7): "*" }
    call.write(Buffer.from([0x3a, 0x01, 0x2a]));
  });
}
