// The one shape the generator (GAN members) and the segmenter (U-Net runs) use for training in child
// processes, built from config in one place, and the config check every such child makes at start.
import os from "node:os";
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

/**
 * Native-kernel threads of each of `max` training children on this host: an equal share of the cores, at least one,
 * so that TRAIN_PROCESSES children on a small host do not each start a thread per core. An operator's
 * SYNTHMRI_NATIVE_THREADS (inherited by the children) wins.
 */
export function childNativeThreads(max: number, cores = hostCores(), env: NodeJS.ProcessEnv = process.env): string {
  const set = env.SYNTHMRI_NATIVE_THREADS;
  if (set != null && set.trim() !== "") return set;
  return String(Math.max(1, Math.floor(cores / Math.max(1, max))));
}

function hostCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** TRAIN_PROCESSES > 0: children reaching the service's own store; otherwise undefined (train inline). */
export function trainProcessesFromConfig(
  config: Pick<Config, "trainProcesses">,
  objects: Pick<OpenedObjectStore, "childEnv">,
): TrainProcesses | undefined {
  if (config.trainProcesses <= 0) return undefined;
  return {
    max: config.trainProcesses,
    env: { SYNTHMRI_NATIVE_THREADS: childNativeThreads(config.trainProcesses), ...objects.childEnv },
  };
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
