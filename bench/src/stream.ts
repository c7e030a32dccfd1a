// grpc-stream: 256 MiB of float32 through a gRPC server stream on loopback (header + 1 MiB chunks, reassembled
// into one aligned buffer) vs the same bytes through a raw TCP loopback socket copied into one buffer, same run.
// Runnable alone: `npx tsx bench/src/stream.ts [--mb 256] [--chunk-kb 1024]` prints JSON lines.
import { createServer as createTcpServer, connect, type Server as TcpServer } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { DataType, TestingService } from "@synthmri/contracts";
import { createClient, createServer, receiveTensor, tensorFrames } from "@synthmri/rpc";
import type { BenchResult } from "./types.js";

export interface StreamBenchOptions {
  /** Payload in MiB (default 256). */
  mb?: number;
  /** Chunk size in bytes (default 1 MiB, the contract's maximum). */
  chunkBytes?: number;
  /** Runs of each side; the best is reported (default 3). */
  repeats?: number;
  log?: (line: string) => void;
}

const MiB = 1024 * 1024;
// Flow-control window of the receiving client: grpc-js' default (64 KiB) makes the sender wait for a
// WINDOW_UPDATE round trip every 64 KiB; a large window keeps loopback busy (measured in this file's note).
export const STREAM_CLIENT_CHANNEL_OPTIONS = {
  "grpc-node.flow_control_window": 32 * MiB,
};

async function productRun(address: string, total: number): Promise<number> {
  const client = createClient(TestingService, address, {
    maxMessageBytes: 4 * MiB,
    channelOptions: STREAM_CLIENT_CHANNEL_OPTIONS,
  });
  try {
    await client.waitForReady(10_000);
    const t0 = performance.now();
    const t = await receiveTensor(client.download({ totalBytes: total }), (r) => r.frame);
    const ms = performance.now() - t0;
    if (t.bytes.byteLength !== total || t.dtype !== DataType.FLOAT32)
      throw new Error("grpc-stream: wrong tensor received");
    return ms;
  } finally {
    client.close();
  }
}

function startPeerServer(payload: Uint8Array, chunkBytes: number): Promise<{ server: TcpServer; port: number }> {
  const server = createTcpServer((socket) => {
    socket.setNoDelay(true);
    let offset = 0;
    // Same shape of work as the gRPC side: chunk-sized writes of views, waiting for 'drain' (backpressure).
    const pump = () => {
      while (offset < payload.byteLength) {
        const end = Math.min(payload.byteLength, offset + chunkBytes);
        const ok = socket.write(payload.subarray(offset, end));
        offset = end;
        if (!ok) {
          socket.once("drain", pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port })),
  );
}

function peerRun(port: number, total: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const target = new Uint8Array(total); // same single copy into one fresh buffer as receiveTensor
    let filled = 0;
    const socket = connect(port, "127.0.0.1");
    socket.on("data", (chunk: Buffer) => {
      target.set(chunk, filled);
      filled += chunk.byteLength;
    });
    socket.on("end", () =>
      filled === total ? resolve(performance.now() - t0) : reject(new Error(`peer got ${filled} bytes`)),
    );
    socket.on("error", reject);
  });
}

export async function benchStream(opts: StreamBenchOptions = {}): Promise<BenchResult[]> {
  const total = Math.round(((opts.mb ?? 256) * MiB) / 4) * 4;
  const chunkBytes = opts.chunkBytes ?? MiB;
  const repeats = opts.repeats ?? 3;
  const floats = new Float32Array(total / 4);
  for (let i = 0; i < floats.length; i++) floats[i] = (i % 4093) * 0.25 - 511;
  const payload = new Uint8Array(floats.buffer);

  const server = createServer({ maxMessageBytes: 4 * MiB }).add(TestingService, {
    async *download() {
      for (const frame of tensorFrames({ dtype: DataType.FLOAT32, shape: [floats.length], data: floats }, chunkBytes)) {
        yield { frame };
      }
    },
  });
  const port = await server.listen("127.0.0.1", 0);
  const peer = await startPeerServer(payload, chunkBytes);
  const productMs: number[] = [];
  const peerMs: number[] = [];
  // CPU seconds of the whole process (both ends) per run: steadier than wall time on a shared machine.
  const productCpu: number[] = [];
  const peerCpu: number[] = [];
  const cpuOf = async (run: () => Promise<number>, into: number[], cpu: number[]) => {
    const c0 = process.cpuUsage();
    into.push(await run());
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  };
  try {
    // Interleave so both sides see the same machine load; the first run of each warms up.
    for (let r = 0; r < repeats; r++) {
      await cpuOf(() => productRun(`127.0.0.1:${port}`, total), productMs, productCpu);
      await cpuOf(() => peerRun(peer.port, total), peerMs, peerCpu);
    }
  } finally {
    peer.server.close();
    await server.shutdown(2000);
  }
  const mbS = (ms: number) => total / 1e6 / (ms / 1000);
  const product = mbS(Math.min(...productMs));
  const peerThroughput = mbS(Math.min(...peerMs));
  const round = (x: number) => Math.round(x * 100) / 100;
  const result: BenchResult = {
    bench: "grpc-stream",
    product_mb_s: round(product),
    peer_mb_s: round(peerThroughput),
    ratio: round(peerThroughput / product),
    note: `${opts.mb ?? 256} MiB float32, ${chunkBytes / 1024} KiB chunks, loopback; product = grpc-js server stream reassembled by receiveTensor, peer = raw TCP socket copied into one buffer; best of ${repeats}, MB = 1e6 bytes; CPU s per run (both ends, best) product ${round(Math.min(...productCpu))} vs peer ${round(Math.min(...peerCpu))}`,
  };
  opts.log?.(JSON.stringify(result));
  return [result];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const chunkKb = arg("--chunk-kb");
  await benchStream({
    mb: arg("--mb"),
    chunkBytes: chunkKb ? chunkKb * 1024 : undefined,
    repeats: arg("--repeats"),
    log: (line) => console.log(line),
  });
}
