import type { LogFields, Logger } from "@synthmri/platform";

/** A logger that drops everything: the default when a caller passes none (tests, benchmarks). */
export const noopLogger: Logger = {
  debug(_msg: string, _fields?: LogFields) {},
  info(_msg: string, _fields?: LogFields) {},
  warn(_msg: string, _fields?: LogFields) {},
  error(_msg: string, _fields?: LogFields) {},
  child(_fields: LogFields): Logger {
    return noopLogger;
  },
};
