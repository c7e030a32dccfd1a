// A real server on port 0 serving the test-only TestingService, with hooks the tests observe.
import { createHash } from "node:crypto";
import type { LogFields, Logger } from "@synthmri/platform";
import { Cancelled, SynthError, type ErrorKind, Unavailable } from "@synthmri/platform";
import { TestingService } from "@synthmri/contracts";
import { DataType } from "@synthmri/contracts";
import {
  type CallContext,
  createServer,
  type RpcServer,
  receiveTensor,
  receiveTensors,
  type ServerInterceptor,
  type ServerOptions,
  tensorFrames,
} from "../src/index.js";

export interface LogLine {
  level: string;
  msg: string;
  fields?: LogFields;
}

export function memoryLogger(lines: LogLine[], bound: LogFields = {}): Logger {
  const at =
    (level: string) =>
    (msg: string, fields?: LogFields): void => {
      lines.push({ level, msg, fields: { ...bound, ...fields } });
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (f) => memoryLogger(lines, { ...bound, ...f }),
  };
}

export interface Fixture {
  server: RpcServer;
  port: number;
  address: string;
  logs: LogLine[];
  /** Resolves with the abort reason of the next "wait" call's signal. */
  nextAbort: () => Promise<unknown>;
  /** Resolves when a "wait"/"slow" call has entered its handler. */
  nextEntered: () => Promise<void>;
  attempts: Map<string, number>;
}

export async function startFixture(
  options: Omit<ServerOptions, "logger"> & { interceptors?: ServerInterceptor[] } = {},
): Promise<Fixture> {
  const logs: LogLine[] = [];
  const attempts = new Map<string, number>();
  let abortWaiters: ((reason: unknown) => void)[] = [];
  let enterWaiters: (() => void)[] = [];
  const entered = () => {
    const w = enterWaiters;
    enterWaiters = [];
    for (const f of w) f();
  };
  const count = (key: string) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  };
  const act = async (action: string, key: string, ctx: CallContext): Promise<number> => {
    const n = count(key);
    if (action.startsWith("throw:")) {
      const kind = action.slice(6) as ErrorKind;
      throw new SynthError(kind, `test failure of kind ${kind}`);
    }
    if (action === "crash") throw new TypeError("secret internal detail");
    if (action === "wait") {
      entered();
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      const w = abortWaiters;
      abortWaiters = [];
      for (const f of w) f(ctx.signal.reason);
      throw new Cancelled("handler saw the abort");
    }
    if (action.startsWith("slow:")) {
      entered();
      await new Promise((r) => setTimeout(r, Number(action.slice(5))));
    }
    if (action.startsWith("unavailable:") && n <= Number(action.slice(12))) {
      throw new Unavailable(`try again (attempt ${n})`);
    }
    return n;
  };

  const server = createServer({ logger: memoryLogger(logs), ...options });
  server.add(TestingService, {
    async echo(req, ctx) {
      const n = await act(req.action, `echo:${req.text}`, ctx);
      return { text: req.text, attempts: n, metadataValue: String(ctx.metadata.get("x-test")[0] ?? "") };
    },
    async mutate(req, ctx) {
      return { attempts: await act(req.action, `mutate:${req.action}`, ctx) };
    },
    async *download(req) {
      const data = new Uint8Array(req.totalBytes);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      for (const frame of tensorFrames(
        { dtype: DataType.UINT8, shape: [data.length], data },
        req.chunkBytes || undefined,
      )) {
        yield { frame };
      }
    },
    async upload(requests) {
      const t = await receiveTensor(requests, (r) => r.frame);
      return { totalBytes: t.bytes.byteLength, sha256: createHash("sha256").update(t.bytes).digest("hex") };
    },
    async *relay(requests) {
      for await (const t of receiveTensors(requests, (r) => r.frame)) {
        for (const frame of tensorFrames({ dtype: t.dtype, shape: t.shape, data: t.bytes, name: t.name })) {
          yield { frame };
        }
      }
    },
  });
  const port = await server.listen("127.0.0.1", 0);
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    logs,
    attempts,
    nextAbort: () => new Promise((r) => abortWaiters.push(r)),
    nextEntered: () => new Promise((r) => enterWaiters.push(r)),
  };
}
