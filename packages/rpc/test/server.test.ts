import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { JobService, TestingService } from "@synthmri/contracts";
import { type ErrorKind, Unauthenticated } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authInterceptor,
  bearerToken,
  type Client,
  codeForKind,
  createClient,
  loggingInterceptor,
  RpcError,
  type ServiceMethodsOf,
} from "../src/index.js";
import { type Fixture, type LogLine, memoryLogger, startFixture } from "./fixture.js";

const require = createRequire(import.meta.url);

function loadGrpcPackage(protoFile: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(protoFile, { keepCase: true, enums: String }));
}

async function healthStatus(address: string, service: string): Promise<string> {
  const pkg = loadGrpcPackage(require.resolve("grpc-health-check/proto/health/v1/health.proto"));
  const Health = (pkg.grpc as grpc.GrpcObject).health as grpc.GrpcObject;
  const Ctor = (Health.v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;
  const client = new Ctor(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      client.Check({ service }, (err: grpc.ServiceError | null, res: { status: string }) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
  } finally {
    client.close();
  }
}

async function reflectionServices(address: string): Promise<{ services: string[]; fileFound: boolean }> {
  const protoFile = require
    .resolve("@grpc/reflection")
    .replace(/build\/src\/index\.js$/, "build/proto/grpc/reflection/v1/reflection.proto");
  const pkg = loadGrpcPackage(protoFile);
  const v1 = ((pkg.grpc as grpc.GrpcObject).reflection as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const Ctor = v1.ServerReflection as grpc.ServiceClientConstructor;
  const client = new Ctor(address, grpc.credentials.createInsecure());
  const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<unknown, Record<string, unknown>>;
  const replies: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    call.on("data", (d: Record<string, unknown>) => {
      replies.push(d);
      if (replies.length === 2) call.end();
    });
    call.on("error", reject);
    call.on("end", resolve);
    call.write({ list_services: "*" });
    call.write({ file_containing_symbol: "synthmri.testing.v1.TestingService" });
  });
  client.close();
  const list = replies[0].list_services_response as { service: { name: string }[] };
  const files = replies[1].file_descriptor_response as { file_descriptor_proto: Buffer[] } | undefined;
  return { services: list.service.map((s) => s.name), fileFound: (files?.file_descriptor_proto.length ?? 0) > 0 };
}

describe("rpc server", () => {
  let fx: Fixture;
  let client: Client<ServiceMethodsOf<typeof TestingService>>;
  beforeAll(async () => {
    fx = await startFixture({ maxMessageBytes: 1024 * 1024 });
    client = createClient(TestingService, fx.address, { retry: { initialBackoffMs: 5, maxBackoffMs: 20 } });
  });
  afterAll(async () => {
    client.close();
    await fx.server.shutdown(1000);
  });

  it("answers unary calls and passes metadata", async () => {
    const res = await client.echo({ text: "hi" }, { metadata: { "x-test": "v1" } });
    expect(res.text).toBe("hi");
    expect(res.metadataValue).toBe("v1");
  });

  it("reports health SERVING and NOT_SERVING per service", async () => {
    expect(await healthStatus(fx.address, "")).toBe("SERVING");
    expect(await healthStatus(fx.address, "synthmri.testing.v1.TestingService")).toBe("SERVING");
    fx.server.setServing("synthmri.testing.v1.TestingService", false);
    expect(await healthStatus(fx.address, "synthmri.testing.v1.TestingService")).toBe("NOT_SERVING");
    fx.server.setServing("synthmri.testing.v1.TestingService", true);
    expect(await healthStatus(fx.address, "synthmri.testing.v1.TestingService")).toBe("SERVING");
    await expect(healthStatus(fx.address, "no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("lists services through reflection and serves their descriptors", async () => {
    const { services, fileFound } = await reflectionServices(fx.address);
    expect(services).toContain("synthmri.testing.v1.TestingService");
    expect(services).toContain("grpc.health.v1.Health");
    expect(fileFound).toBe(true);
  });

  const kinds: ErrorKind[] = [
    "InvalidInput",
    "NotFound",
    "FailedPrecondition",
    "ResourceExhausted",
    "Unauthenticated",
    "PermissionDenied",
    "AlreadyExists",
    "Cancelled",
    "Unavailable",
  ];
  it.each(kinds)("maps SynthError %s to its status with the message", async (kind) => {
    const err = await client.mutate({ action: `throw:${kind}` }).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(codeForKind(kind));
    expect(err.details).toBe(`test failure of kind ${kind}`);
    expect(err.kind).toBe(kind);
  });

  it("turns unknown errors into INTERNAL with an id that is logged, without internals", async () => {
    const err = (await client.mutate({ action: "crash" }).catch((e) => e)) as RpcError;
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.details).toContain(err.errorId!);
    expect(err.details).not.toContain("secret");
    const logged = fx.logs.find((l) => l.level === "error" && l.fields?.errorId === err.errorId);
    expect(logged?.fields?.error).toContain("secret internal detail");
  });

  it("answers a malformed request body with INVALID_ARGUMENT and keeps serving", async () => {
    const raw = new grpc.Client(fx.address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        "/synthmri.testing.v1.TestingService/Echo",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), // field 1 claims ~4 GiB of text
        (e) => resolve(e as grpc.ServiceError),
      ),
    );
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("synthmri.testing.v1.EchoRequest");
    expect((await client.echo({ text: "still up" })).text).toBe("still up");
  });

  it("answers an oversize message with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const err = (await client
      .echo({ text: "big", padding: new Uint8Array(2 * 1024 * 1024) })
      .catch((e) => e)) as RpcError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details.length).toBeGreaterThan(0);
    expect((await client.echo({ text: "after" })).text).toBe("after");
  });

  it("aborts the handler's signal when the client cancels", async () => {
    const controller = new AbortController();
    const aborted = fx.nextAbort();
    const entered = fx.nextEntered();
    const call = client.echo({ text: "cancel-me", action: "wait" }, { signal: controller.signal }).catch((e) => e);
    await entered;
    controller.abort();
    expect(await aborted).toBeDefined();
    expect(((await call) as RpcError).code).toBe(grpc.status.CANCELLED);
  });

  it("aborts the handler's signal when the deadline passes", async () => {
    const aborted = fx.nextAbort();
    const err = (await client
      .echo({ text: "deadline", action: "wait" }, { deadlineMs: 150 })
      .catch((e) => e)) as RpcError;
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await aborted).toBeDefined();
  });

  it("retries idempotent calls on UNAVAILABLE but not the others", async () => {
    const res = await client.echo({ text: "flaky", action: "unavailable:2" });
    expect(res.attempts).toBe(3);
    const err = (await client.mutate({ action: "unavailable:2" }).catch((e) => e)) as RpcError;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(fx.attempts.get("mutate:unavailable:2")).toBe(1);
  });

  it("answers UNIMPLEMENTED for a service this server does not serve", async () => {
    const jobs = createClient(JobService, fx.address);
    const err = (await jobs.getJob({ jobId: "x" }).catch((e) => e)) as RpcError;
    jobs.close();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe("rpc server interceptors", () => {
  it("rejects calls the auth hook refuses and logs method, code and duration", async () => {
    const lines: LogLine[] = [];
    const fx = await startFixture({
      interceptors: [
        authInterceptor((call) => {
          const token = bearerToken(call.metadata);
          if (token !== "good") throw new Unauthenticated("missing or invalid partner token");
          return { partner: "p1" };
        }),
        loggingInterceptor(memoryLogger(lines)),
      ],
    });
    const client = createClient(TestingService, fx.address);
    try {
      const err = (await client.echo({ text: "x" }).catch((e) => e)) as RpcError;
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      const ok = await client.echo({ text: "y" }, { metadata: { authorization: "Bearer good" } });
      expect(ok.text).toBe("y");
      const rpcLines = lines.filter((l) => l.msg === "rpc");
      expect(rpcLines.map((l) => l.fields?.code)).toEqual(["UNAUTHENTICATED", "OK"]);
      expect(rpcLines[1].fields?.method).toBe("/synthmri.testing.v1.TestingService/Echo");
      expect(typeof rpcLines[1].fields?.durationMs).toBe("number");
      expect(JSON.stringify(lines)).not.toContain("good");
    } finally {
      client.close();
      await fx.server.shutdown(1000);
    }
  });

  it("serves only partially implemented services with UNIMPLEMENTED for the rest", async () => {
    const { createServer } = await import("../src/index.js");
    const server = createServer().add(JobService, {
      async getJob(req) {
        return { job: { id: req.jobId } };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const jobs = createClient(JobService, `127.0.0.1:${port}`);
    try {
      expect((await jobs.getJob({ jobId: "j1" })).job?.id).toBe("j1");
      const err = (await jobs.cancelJob({ jobId: "j1" }).catch((e) => e)) as RpcError;
      expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(err.details).toContain("CancelJob");
    } finally {
      jobs.close();
      await server.shutdown(1000);
    }
  });
});

describe("graceful shutdown", () => {
  it("drains an in-flight call, then refuses new ones", async () => {
    const fx = await startFixture();
    const client = createClient(TestingService, fx.address, { retry: false });
    const entered = fx.nextEntered();
    const call = client.echo({ text: "drain", action: "slow:300" });
    await entered;
    expect(fx.server.inFlight).toBe(1);
    const stopped = fx.server.shutdown(5000);
    expect((await call).text).toBe("drain");
    await stopped;
    const err = (await client.echo({ text: "late" }, { deadlineMs: 1000 }).catch((e) => e)) as RpcError;
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
    client.close();
  });

  it("cancels calls still running when the drain timeout passes", async () => {
    const fx = await startFixture();
    const client = createClient(TestingService, fx.address, { retry: false });
    const entered = fx.nextEntered();
    const aborted = fx.nextAbort();
    const call = client.echo({ text: "stuck", action: "wait" }).catch((e) => e);
    await entered;
    await fx.server.shutdown(100);
    expect(String(await aborted)).toContain("shutting down");
    expect(((await call) as RpcError).code).toBeGreaterThan(0);
    client.close();
  });
});
