// Connect routes that forward every unary and server-streaming method of a service to its gRPC server, so
// the browser speaks the project's own protobuf contracts (Connect protocol) and never a JSON mirror.
// Client- and bidi-streaming methods are not routed: browsers cannot stream a request body (the console's
// own SegmentScan covers the one upload a page needs).
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { type Client, createClient, isRpcError } from "@synthmri/rpc";

/** Large tensor batches (sample grids) come back in 1 MiB chunks; 64 MiB leaves room for any header. */
const CLIENT_OPTIONS = { defaultDeadlineMs: 600_000, maxMessageBytes: 64 * 1024 * 1024 };

type AnyClient = Record<string, (request: unknown, options?: { signal?: AbortSignal }) => unknown> & {
  close(): void;
};

/** gRPC status codes and Connect codes share their numbers (Connect was built on them). */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  if (isRpcError(e)) return new ConnectError(e.details || e.message, e.code as unknown as Code);
  return new ConnectError(e instanceof Error ? e.message : String(e), Code.Internal);
}

export interface Forwarder {
  register(router: ConnectRouter): void;
  close(): void;
}

/** Forwards `services` (all served at one gRPC address) through a router. */
export function forwardServices(services: readonly DescService[], address: string): Forwarder {
  const clients: AnyClient[] = [];
  const routes: Array<(router: ConnectRouter) => void> = [];
  for (const service of services) {
    const client = createClient(service as never, address, CLIENT_OPTIONS) as unknown as Client<never> & AnyClient;
    clients.push(client);
    for (const method of service.methods) {
      const route = routeFor(method, client);
      if (route) routes.push(route);
    }
  }
  return {
    register(router) {
      for (const r of routes) r(router);
    },
    close() {
      for (const c of clients) c.close();
    },
  };
}

function routeFor(method: DescMethod, client: AnyClient): ((router: ConnectRouter) => void) | undefined {
  const call = client[method.localName];
  if (!call) return undefined;
  if (method.methodKind === "unary") {
    return (router) =>
      router.rpc(method as DescMethod & { methodKind: "unary" }, async (request: unknown, ctx: HandlerContext) => {
        try {
          return (await call(request, { signal: ctx.signal })) as never;
        } catch (e) {
          throw toConnectError(e);
        }
      });
  }
  if (method.methodKind === "server_streaming") {
    return (router) =>
      router.rpc(
        method as DescMethod & { methodKind: "server_streaming" },
        async function* (request: unknown, ctx: HandlerContext) {
          try {
            yield* call(request, { signal: ctx.signal }) as AsyncIterable<never>;
          } catch (e) {
            throw toConnectError(e);
          }
        },
      );
  }
  return undefined;
}
