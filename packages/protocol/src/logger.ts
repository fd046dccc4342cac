/** Where ringcast writes its log lines: `console`, pino, winston, … */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that writes nothing: what `logger: false` means. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The `logger` option, checked, and guarded once for every caller: a logger that
 * throws loses its line, never the operation that was logging (a worker's
 * redelivery, a start, a drain). `undefined` takes `fallback`, `false` is
 * silence, anything else must have the three methods, or `invalid` is called.
 */
export function parseLogger(
  value: unknown,
  fallback: Logger,
  invalid: (why: string) => never,
): Logger {
  if (value === undefined) return fallback;
  if (value === false) return silentLogger;
  const l = value as Partial<Record<keyof Logger, unknown>> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.info !== 'function' ||
    typeof l.warn !== 'function' ||
    typeof l.error !== 'function'
  ) {
    invalid('logger must be false or an object with info, warn and error functions');
  }
  const logger = value as Logger;
  const guard =
    (level: keyof Logger) =>
    (message: string): void => {
      try {
        logger[level](message);
      } catch {
        // The line is lost; what was being logged goes on.
      }
    };
  return { info: guard('info'), warn: guard('warn'), error: guard('error') };
}
