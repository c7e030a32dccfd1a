// GetServiceInfo: every internal server answers it with the suite version, its services and the compute backend
// the process published; a server facing outside parties (reflection off) does not describe itself.
import { readFileSync } from "node:fs";
import { ServiceInfoService } from "@synthmri/contracts";
import { publishComputeBackend } from "@synthmri/platform";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, isRpcError } from "../src/index.js";
import { type Fixture, startFixture } from "./fixture.js";

const rootVersion = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

describe("GetServiceInfo", () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.server.shutdown(0);
    fx = undefined;
  });

  it("reports the version, the served services and the published backend", async () => {
    fx = await startFixture();
    const client = createClient(ServiceInfoService, fx.address);
    try {
      const { info } = await client.getServiceInfo({});
      expect(info?.version).toBe(rootVersion);
      expect(info?.services).toContain("synthmri.testing.v1.TestingService");
      expect(info?.services).not.toContain("synthmri.common.v1.ServiceInfoService");
      expect(info?.nodeVersion).toBe(process.versions.node);
      expect(info?.cpus).toBeGreaterThan(0);

      publishComputeBackend({
        name: "webgpu",
        provider: "tfjs-backend-webgpu",
        native: true,
        nativeKernels: false,
        threads: 1,
        adapter: "nvidia / hopper / H200",
      });
      const gpu = (await client.getServiceInfo({})).info;
      expect(gpu).toMatchObject({ backend: "webgpu", gpu: true, gpuAdapter: "nvidia / hopper / H200", threads: 1 });

      publishComputeBackend({
        name: "cpu",
        provider: "tfjs-backend-cpu",
        native: true,
        nativeKernels: true,
        threads: 2,
      });
      const cpu = (await client.getServiceInfo({})).info;
      expect(cpu).toMatchObject({ backend: "cpu", gpu: false, gpuAdapter: "", nativeKernels: true, threads: 2 });
    } finally {
      client.close();
    }
  });

  it("is not served when the server does not describe itself (reflection off)", async () => {
    fx = await startFixture({ reflection: false });
    const client = createClient(ServiceInfoService, fx.address);
    try {
      const e = await client.getServiceInfo({}).catch((x: unknown) => x);
      expect(isRpcError(e) && e.code).toBe(12); // UNIMPLEMENTED
    } finally {
      client.close();
    }
  });
});
