// GAN training curves. Each committed checkpoint carries history.json: the progress points recorded since the
// previous checkpoint (thinned to at most MAX_POINTS_PER_CHECKPOINT by doubling the stride, so a long stretch
// between checkpoints stays small) followed by the checkpoint's own point with the SWD measured at it. A
// member's history is the concatenation over its checkpoints: it survives restarts exactly like the weights
// (points after the last checkpoint are retrained, and recorded again, after a resume).
import { type ArtifactStore, InvalidInput, type JobProgress, NotFound, type ObjectStore } from "@synthmri/platform";
import { CHECKPOINT_KIND, type CheckpointFields, listCheckpoints } from "./checkpoints.js";
import { checkEnsembleId, type EnsembleRegistry } from "./registry.js";

export const HISTORY_FILE = "history.json";
export const MAX_POINTS_PER_CHECKPOINT = 128;
export const DEFAULT_MAX_POINTS = 500;
export const MAX_POINTS_LIMIT = 5000;

export interface HistoryPoint {
  kimg: number;
  /** Discriminator loss; the denoising loss for DDPM. */
  lossD: number;
  lossG: number;
  /** Gradient penalty (PGAN) or R1 (StyleGAN2); 0 when none. */
  lossGp: number;
  /** Laplacian SWD x1e3 measured at this point; null where not measured. */
  swd: number | null;
  resolution: number;
  phase: string;
  alpha: number;
  checkpoint: boolean;
}

export interface HistoryFile {
  points: HistoryPoint[];
}

const finite = (v: number | undefined): number => (v !== undefined && Number.isFinite(v) ? v : 0);

/** A curve point from a training progress update (undefined for updates before training, e.g. "loading"). */
export function pointFromProgress(u: JobProgress): HistoryPoint | undefined {
  const m = u.metrics;
  if (!m || m.kimg === undefined) return undefined;
  return {
    kimg: m.kimg,
    lossD: finite(m.loss_d ?? m.loss),
    lossG: finite(m.loss_g),
    lossGp: finite(m.loss_gp ?? m.loss_r1),
    swd: null,
    resolution: finite(m.resolution),
    phase: u.phase ?? "",
    alpha: m.alpha ?? 1,
    checkpoint: false,
  };
}

/** Collects the points between two checkpoints, keeping every stride-th and doubling the stride when full. */
export class HistoryRecorder {
  private points: HistoryPoint[] = [];
  private stride = 1;
  private seen = 0;
  private lastPhase = "";

  constructor(private readonly limit = MAX_POINTS_PER_CHECKPOINT) {}

  record(u: JobProgress): void {
    const p = pointFromProgress(u);
    if (!p) return;
    this.lastPhase = p.phase;
    if (this.seen++ % this.stride !== 0) return;
    this.points.push(p);
    if (this.points.length > this.limit) {
      this.points = this.points.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  /** The points since the last drain plus the checkpoint's own point; starts the next stretch. */
  drain(f: Pick<CheckpointFields, "kimg" | "swd" | "resolution" | "alpha">): HistoryFile {
    const last = this.points.at(-1);
    const points = [
      ...this.points,
      {
        kimg: f.kimg,
        lossD: last?.lossD ?? 0,
        lossG: last?.lossG ?? 0,
        lossGp: last?.lossGp ?? 0,
        swd: f.swd,
        resolution: f.resolution,
        phase: this.lastPhase || `${f.resolution}x${f.resolution}`,
        alpha: f.alpha,
        checkpoint: true,
      },
    ];
    this.points = [];
    this.stride = 1;
    this.seen = 0;
    return { points };
  }
}

export interface TrainingHistory {
  ganId: string;
  family: string;
  totalKimg: number;
  points: HistoryPoint[];
}

/**
 * The GAN's curves over its committed checkpoints, oldest first, thinned evenly to `maxPoints` (checkpoint
 * points always kept). Checkpoints written before history files existed contribute their own point.
 */
export async function readTrainingHistory(
  store: ObjectStore,
  artifacts: ArtifactStore,
  ganId: string,
  maxPoints = DEFAULT_MAX_POINTS,
): Promise<TrainingHistory> {
  const ids = await listCheckpoints(store, artifacts, ganId);
  let family = "";
  let totalKimg = 0;
  const points: HistoryPoint[] = [];
  for (const id of ids) {
    const m = await artifacts.getManifest<CheckpointFields>(CHECKPOINT_KIND, id);
    family = m.family;
    totalKimg = finite(Number(m.params.totalImages)) / 1000;
    if (m.checksums[HISTORY_FILE]) {
      const h = await artifacts.readJson<HistoryFile>(CHECKPOINT_KIND, id, HISTORY_FILE);
      points.push(...h.points);
    } else {
      points.push({
        kimg: m.kimg,
        lossD: 0,
        lossG: 0,
        lossGp: 0,
        swd: m.swd,
        resolution: m.resolution,
        phase: `${m.resolution}x${m.resolution}`,
        alpha: m.alpha,
        checkpoint: true,
      });
    }
  }
  points.sort((a, b) => a.kimg - b.kimg || Number(a.checkpoint) - Number(b.checkpoint));
  return { ganId, family, totalKimg, points: thin(points, maxPoints) };
}

/** At most `max` points: every checkpoint point, the others evenly spaced. */
export function thin(points: HistoryPoint[], max: number): HistoryPoint[] {
  if (points.length <= max) return points;
  const checkpoints = points.filter((p) => p.checkpoint).length;
  const others = points.length - checkpoints;
  const room = Math.max(0, max - checkpoints);
  let k = 0;
  return points.filter((p) => {
    if (p.checkpoint) return true;
    const keep = Math.floor(((k + 1) * room) / others) > Math.floor((k * room) / others);
    k++;
    return keep;
  });
}

/** The gan id of a request naming either a gan or an ensemble member; NotFound when neither is known. */
export async function resolveGanId(
  registry: EnsembleRegistry,
  request: { ganId: string; ensembleId: string; member: number },
): Promise<string> {
  if (request.ganId) {
    checkEnsembleId(request.ganId, "gan_id");
    const known = (await registry.list()).some((r) => r.members.some((m) => m.ganId === request.ganId));
    if (!known) throw new NotFound(`GAN "${request.ganId}" not found; GetEnsemble lists its members' gan ids`);
    return request.ganId;
  }
  if (!request.ensembleId) throw new InvalidInput("give gan_id, or ensemble_id and member");
  const record = await registry.get(request.ensembleId);
  const member = record.members.find((m) => m.index === request.member);
  if (!member)
    throw new NotFound(
      `ensemble ${request.ensembleId} has no member ${request.member} (members 0..${record.members.length - 1})`,
    );
  return member.ganId;
}

export function checkMaxPoints(n: number): number {
  if (n === 0) return DEFAULT_MAX_POINTS;
  if (n < 2 || n > MAX_POINTS_LIMIT)
    throw new InvalidInput(`max_points ${n} must be 2..${MAX_POINTS_LIMIT} (0 = ${DEFAULT_MAX_POINTS})`);
  return n;
}
