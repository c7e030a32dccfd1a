// The one shape the generator (GAN members) and the segmenter (U-Net runs) use for training in child
// processes, built from config in one place, and the config check every such child makes at start.
import { type Config, loadConfig } from "../config/config.js";
import { FailedPrecondition } from "@synthmri/core";
import type { OpenedObjectStore } from "../store/open-object-store.js";

export interface TrainProcesses {
  /** Training child processes at once in this service (TRAIN_PROCESSES); > 0. */
  max: number;
  /** How a child reaches the service's object store (S3_*), plus e.g. TF_BACKEND, over the service's env. */
  env?: Record<string, string>;
  /** Called with each child's pid (logs, tests). */
  onSpawn?: (pid: number) => void;
}

/** TRAIN_PROCESSES > 0: children reaching the service's own store; otherwise undefined (train inline). */
export function trainProcessesFromConfig(
  config: Pick<Config, "trainProcesses">,
  objects: Pick<OpenedObjectStore, "childEnv">,
): TrainProcesses | undefined {
  return config.trainProcesses > 0 ? { max: config.trainProcesses, env: { ...objects.childEnv } } : undefined;
}

/**
 * A training child's config (env), which must name the parent's object store: without S3_ENDPOINT the child
 * would start a second embedded store instead of using the service's. `child` and `parent` word the error
 * ("a GAN training child", "the generator").
 */
export function loadTrainingChildConfig(child: string, parent: string): Config {
  const config = loadConfig();
  if (!config.s3.endpoint)
    throw new FailedPrecondition(`${child} needs S3_ENDPOINT (${parent} passes the endpoint of its object store)`);
  return config;
}
