/**
 * The logger of ringcast's command-line tools (`ringcast-worker`, and the
 * admin CLI `ringcast`), chosen with `--log-format`:
 *
 * - `text` (the default): one line per message on the console, `[name] message`
 *   (info on stdout, warnings and errors on stderr), as before the flag existed.
 * - `json`: one JSON object per line on stdout, written by pino: `level` (its
 *   name), `time` (ISO 8601), `msg`, `name`, `pid`, `hostname`, and the line's
 *   fields (`worker`, `dispatcher`, `task`, `handler`, `attempt`, `code`, …).
 *
 * Either way every message and field is redacted (no Redis password reaches a
 * line) and a write that throws loses its line, never the operation.
 */

import { pino } from 'pino';
import { adaptLogger, type FieldLogger } from './logger.js';
import { textLogger } from './text-logger.js';

/** The values `--log-format` takes. */
export const LOG_FORMATS = ['text', 'json'] as const;

export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether `value` is a `--log-format` value. */
export function isLogFormat(value: unknown): value is LogFormat {
  return (LOG_FORMATS as readonly unknown[]).includes(value);
}

/** Where JSON lines go instead of stdout: anything with `write`. For tests and embedding. */
export interface LogDestination {
  write(line: string): unknown;
}

/**
 * The logger a command-line tool named `name` writes with, in `format`. Pass
 * it as the `logger` option of a worker or dispatcher, or call it directly:
 * `logger.info(message, fields?)`.
 */
export function createCliLogger(
  format: LogFormat,
  name: string,
  destination?: LogDestination,
): FieldLogger {
  if (format === 'text') return textLogger(name);
  const logger = pino(
    {
      name,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: the lines written just before a process.exit() are not lost.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return adaptLogger(logger);
}
