// Why long synchronous work must not run on the event loop of a process that calls gRPC, and what the client does
// about a dropped connection. The server (in its own process, as the product's services run beside the CLI)
// pings every connection (keepalive); a client whose event loop is blocked cannot read the PING, so the ack
// never leaves, the server closes the connection after its timeout, and the next stream the client opens on it
// is refused: UNAVAILABLE "Stream refused by server" (what the families measures met after minutes of SWD and
// max-correlation work). Keepalive is shortened to a ping 100 ms after the last ack and 400 ms to answer it; the block is 1.5 s.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { TestingService } from "@synthmri/contracts";
import { runStepsPaced, type Steps } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type RetryPolicy, type RpcError } from "../src/index.js";

const SERVER = fileURLToPath(new URL("./fixtures/keepalive-server.ts", import.meta.url));
const BLOCK_MS = 1500;

function blockSync(ms: number): void {
  const t = performance.now();
  while (performance.now() - t < ms) {}
}

/** The same amount of work as steps of 5 ms (what the image-set measures of @synthmri/eval are). */
function* blockInSteps(ms: number): Steps<void> {
  const t = performance.now();
  while (performance.now() - t < ms) {
    blockSync(5);
    yield;
  }
}

describe("a client event loop blocked past the server's keepalive timeout", () => {
  let child: ChildProcess;
  let address: string;
  beforeAll(async () => {
    child = spawn(process.execPath, ["--import", "tsx", SERVER, "100", "400"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`keepalive test server exited with ${code}`)));
      child.stdout?.once("data", (d) => resolve(Number(String(d).trim())));
    });
    address = `127.0.0.1:${port}`;
  }, 60_000);
  afterAll(() => {
    child?.kill();
  });

  /** One Download stream on a connection that was used just before, after `between` ran. */
  async function streamAfter(retry: RetryPolicy | false, between: () => void | Promise<void>): Promise<number> {
    const client = createClient(TestingService, address, { retry });
    const drain = async () => {
      let n = 0;
      for await (const _ of client.download({ totalBytes: 1000, chunkBytes: 100 })) n++;
      return n;
    };
    try {
      expect(await drain()).toBe(11);
      await between();
      return await drain();
    } finally {
      client.close();
    }
  }

  it("loses its connection: without retries the next stream is refused with UNAVAILABLE", async () => {
    const err = (await streamAfter(false, () => blockSync(BLOCK_MS)).catch((e) => e)) as RpcError;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toMatch(/refused|closed|reset|unavailable/i);
  }, 30_000);

  it("the client retries an idempotent server stream that failed before its first message", async () => {
    expect(await streamAfter({ initialBackoffMs: 10 }, () => blockSync(BLOCK_MS))).toBe(11);
  }, 30_000);

  it("the same work paced (runStepsPaced) keeps the connection: no retry needed", async () => {
    expect(await streamAfter(false, () => runStepsPaced(blockInSteps(BLOCK_MS), { sliceMs: 20 }))).toBe(11);
  }, 30_000);
});
