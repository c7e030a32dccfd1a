// Structured JSON-lines logger implementing the Logger contract. One line per event:
// {"time","level","name","msg",...fields} (+ trace_id, span_id inside a traced call). Fields pass through redactValue so voxel data cannot leak.
import { boundText, type LogFields, type Logger, type LogLevel } from "@synthmri/core";
import { activeTraceIds } from "../tracing/tracing.js";
import { redactValue } from "./redact.js";

export type LoggerLevel = LogLevel | "silent";

export interface LogSink {
  write(line: string): unknown;
}

export interface CreateLoggerOptions {
  level?: LoggerLevel;
  name: string;
  /** Where lines go; default process.stderr so that stdout stays free for command output. */
  stream?: LogSink;
  /** Fields on every line (e.g. { service: "ingest" }). */
  fields?: LogFields;
  /** For tests. */
  now?: () => Date;
}

const RANK: Record<LoggerLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(options: CreateLoggerOptions): Logger {
  const threshold = RANK[options.level ?? "info"];
  if (threshold === undefined) throw new Error(`unknown log level "${options.level}" (debug|info|warn|error|silent)`);
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => new Date());

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (RANK[level] < threshold) return;
      // trace_id / span_id of the active span (OpenTelemetry), so a log line can be found from a trace and back.
      const safe = redactValue({ ...base, ...fields, ...activeTraceIds() }) as LogFields;
      const line = { time: now().toISOString(), level, name: options.name, msg: boundText(msg), ...safe };
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch {
        text = JSON.stringify({ time: line.time, level, name: options.name, msg, logError: "fields not serializable" });
      }
      stream.write(`${text}\n`);
    };
    return {
      debug: (msg, fields) => emit("debug", msg, fields),
      info: (msg, fields) => emit("info", msg, fields),
      warn: (msg, fields) => emit("warn", msg, fields),
      error: (msg, fields) => emit("error", msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = createLogger({ name: "silent", level: "silent" });
