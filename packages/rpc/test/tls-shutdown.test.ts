import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { TestingService } from "@synthmri/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, createServer, type RpcError, shutdownOnSignals } from "../src/index.js";

// A throwaway CA, a server certificate for localhost and a client certificate, made with openssl.
function makePki(dir: string) {
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  );
  writeFileSync(join(dir, "san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const name of ["server", "client"]) {
    ossl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name === "server" ? "localhost" : "client"}`,
    );
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      "san.cnf",
    );
  }
  return (f: string) => join(dir, f);
}

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!hasOpenssl)("TLS", () => {
  let dir: string;
  let at: (f: string) => string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rpc-tls-"));
    at = makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves a TLS client (server certificate only) and refuses a plaintext one", async () => {
    const server = createServer({ tls: { certPath: at("server.pem"), keyPath: at("server.key") } }).add(
      TestingService,
      { echo: async (req) => ({ text: req.text }) },
    );
    const port = await server.listen("127.0.0.1", 0);
    const tlsClient = createClient(TestingService, `localhost:${port}`, { tls: { caPath: at("ca.pem") } });
    const plain = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    try {
      expect((await tlsClient.echo({ text: "over tls" })).text).toBe("over tls");
      const err = (await plain.echo({ text: "x" }, { deadlineMs: 3000 }).catch((e) => e)) as RpcError;
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
    } finally {
      tlsClient.close();
      plain.close();
      await server.shutdown(1000);
    }
  });

  it("serves over mTLS and refuses clients without a certificate", async () => {
    const server = createServer({
      tls: { certPath: at("server.pem"), keyPath: at("server.key"), caPath: at("ca.pem") },
    }).add(TestingService, {
      async echo(req) {
        return { text: req.text };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const good = createClient(TestingService, `localhost:${port}`, {
      tls: { caPath: at("ca.pem"), certPath: at("client.pem"), keyPath: at("client.key") },
    });
    const anonymous = createClient(TestingService, `localhost:${port}`, {
      tls: { caPath: at("ca.pem") },
      retry: false,
    });
    try {
      expect((await good.echo({ text: "secure" })).text).toBe("secure");
      const err = (await anonymous.echo({ text: "x" }, { deadlineMs: 3000 }).catch((e) => e)) as RpcError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      good.close();
      anonymous.close();
      await server.shutdown(1000);
    }
  });

  it("names the file it cannot read", async () => {
    const server = createServer({ tls: { certPath: join(dir, "missing.pem"), keyPath: at("server.key") } });
    await expect(server.listen("127.0.0.1", 0)).rejects.toThrow(/missing\.pem/);
  });
});

describe("shutdownOnSignals", () => {
  it("drains the server on the signal and runs onStopped", async () => {
    const server = createServer().add(TestingService, {
      async echo(req) {
        return { text: req.text };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const client = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    expect((await client.echo({ text: "before" })).text).toBe("before");
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => {
      resolveStopped = r;
    });
    const dispose = shutdownOnSignals(server, { signals: ["SIGUSR2"], exit: false, onStopped: resolveStopped });
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      await stopped;
      const err = (await client.echo({ text: "after" }, { deadlineMs: 2000 }).catch((e) => e)) as RpcError;
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
    } finally {
      client.close();
      dispose();
    }
  });
});
