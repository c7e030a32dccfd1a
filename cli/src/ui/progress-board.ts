// Live progress bars, one row per stage/job ("ingest  import phantom  [#####-----] 48% slicing 12/24 subjects").
// On a TTY the board redraws in place (ANSI cursor moves); elsewhere (CI, logs, pipes) it prints one line
// whenever a row changes state or crosses a 10 % step, so logs stay readable.
export type RowState = "waiting" | "queued" | "running" | "done" | "failed" | "cached" | "cancelled";

export interface RowUpdate {
  state?: RowState;
  fraction?: number;
  message?: string;
  /** Which service (and where) the row's work runs on. */
  service?: string;
}

interface Row extends Required<Omit<RowUpdate, "service">> {
  key: string;
  label: string;
  service: string;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  lastPrintedStep: number;
}

export interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const BAR = 24;

export function formatBar(fraction: number, width = BAR): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "";
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

const MARK: Record<RowState, string> = {
  waiting: " ",
  queued: ".",
  running: ">",
  done: "✓",
  failed: "✗",
  cached: "=",
  cancelled: "x",
};

export class ProgressBoard {
  private readonly rows = new Map<string, Row>();
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private closed = false;

  constructor(
    private readonly out: Writable = process.stdout,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = Boolean(out.isTTY) && process.env.SYNTHMRI_PLAIN_PROGRESS !== "1";
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    }
  }

  add(key: string, label: string, service = ""): void {
    if (this.rows.has(key)) return;
    this.rows.set(key, {
      key,
      label,
      service,
      state: "waiting",
      fraction: 0,
      message: "",
      startedAt: undefined,
      finishedAt: undefined,
      lastPrintedStep: -1,
    });
    this.draw();
  }

  update(key: string, u: RowUpdate): void {
    const row = this.rows.get(key);
    if (!row) return;
    const prevState = row.state;
    if (u.service !== undefined) row.service = u.service;
    if (u.fraction !== undefined && Number.isFinite(u.fraction)) row.fraction = Math.max(0, Math.min(1, u.fraction));
    if (u.message !== undefined) row.message = u.message;
    if (u.state !== undefined) row.state = u.state;
    if (row.state === "running" && row.startedAt === undefined) row.startedAt = this.now();
    if (["done", "failed", "cached", "cancelled"].includes(row.state)) {
      row.finishedAt ??= this.now();
      if (row.state === "done" || row.state === "cached") row.fraction = 1;
    }
    if (this.tty) return; // the timer redraws
    const step = Math.floor(row.fraction * 10);
    if (row.state !== prevState || (row.state === "running" && step > row.lastPrintedStep)) {
      row.lastPrintedStep = step;
      this.out.write(`${this.line(row)}\n`);
    }
  }

  line(row: Row): string {
    const elapsed =
      row.startedAt === undefined ? "" : formatSeconds(((row.finishedAt ?? this.now()) - row.startedAt) / 1000);
    const pct = `${String(Math.round(row.fraction * 100)).padStart(3)}%`;
    const state = row.state === "cached" ? "cached" : row.state === "running" ? pct : row.state;
    const text = `${MARK[row.state]} ${row.label.padEnd(28)} ${formatBar(row.fraction)} ${state.padEnd(9)} ${elapsed.padStart(6)}  ${row.service ? `(${row.service}) ` : ""}${row.message}`;
    const width = this.out.columns ?? 160;
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  }

  draw(): void {
    if (!this.tty || this.closed) return;
    const lines = [...this.rows.values()].map((r) => this.line(r));
    let text = "";
    if (this.drawnLines > 0) text += `\x1b[${this.drawnLines}A`;
    for (const l of lines) text += `\x1b[2K${l}\n`;
    this.out.write(text);
    this.drawnLines = lines.length;
  }

  /** Prints a message above the board (keeps the board intact on a TTY). */
  log(message: string): void {
    if (this.tty && this.drawnLines > 0) {
      this.out.write(`\x1b[${this.drawnLines}A\x1b[0J${message}\n`);
      this.drawnLines = 0;
      this.draw();
    } else {
      this.out.write(`${message}\n`);
    }
  }

  close(): void {
    this.draw();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
