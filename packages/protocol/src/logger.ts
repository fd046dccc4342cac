/**
 * Where ringcast writes its log lines, and how it calls the logger it is given.
 *
 * Call sites pass a message and, where they have them, fields naming what the
 * line is about (`{ worker, dispatcher, task, handler, attempt, code, … }`).
 * The logger from the `logger` option is adapted once ({@link adaptLogger}):
 * a structured logger (pino, bunyan: see {@link isStructuredLogger}) is called
 * `logger.warn(fields, message)`; any other (console, winston, a custom
 * object) `logger.warn(message)`, exactly as before fields existed. Either
 * way the message and the fields are redacted (no credentials, see
 * redact.ts) and a logger that throws loses its line, never the operation
 * that was logging.
 */
import { redactText } from './redact.js';

/** Where ringcast writes its log lines: `console`, pino, winston, … */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What a log line is about, beside its message: ids, names, counts, codes. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * A structured logger, as pino's and bunyan's are: called `(fields, message)`.
 * Told apart from a {@link Logger} by its shape (see {@link isStructuredLogger}).
 * pino's and bunyan's methods take a message alone too, so they are `Logger`s
 * as far as the `logger` option's type goes.
 */
export interface StructuredLogger {
  child(...args: never[]): unknown;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/** The logger ringcast calls: a message, and the fields the call site has. */
export interface FieldLogger extends Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

type Level = keyof Logger;

/** Marks a logger {@link adaptLogger} made, so adapting it again returns it as it is. */
const ADAPTED = Symbol('ringcast.adaptedLogger');

type Adapted = FieldLogger & { readonly [ADAPTED]: true };

const NO_FIELDS: LogFields = Object.freeze({});

/** A logger that writes nothing: what `logger: false` means. */
export const silentLogger: FieldLogger = adaptLogger({ info() {}, warn() {}, error() {} });

/**
 * Whether `logger` takes `(fields, message)` calls: pino's and bunyan's shape,
 * a `child()` function and either `bindings()` (pino) or `level()` (bunyan).
 * Console, winston and plain objects take the message alone.
 */
export function isStructuredLogger(logger: unknown): boolean {
  if (typeof logger !== 'object' || logger === null) return false;
  const l = logger as Record<string, unknown>;
  return (
    typeof l['child'] === 'function' &&
    (typeof l['bindings'] === 'function' || typeof l['level'] === 'function')
  );
}

/**
 * The logger ringcast calls, made from the one it was given: redacting,
 * guarded, and structured or message-only as {@link isStructuredLogger} says.
 * Adapting an adapted logger returns it unchanged.
 */
export function adaptLogger(logger: Logger | StructuredLogger): FieldLogger {
  if ((logger as Partial<Adapted>)[ADAPTED]) return logger as FieldLogger;
  const structured = isStructuredLogger(logger);
  const call =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      try {
        const line = redactText(message);
        if (structured) {
          const write = (logger as StructuredLogger)[level];
          write.call(logger, fields ? redactFields(fields) : NO_FIELDS, line);
        } else {
          (logger as Logger)[level](line);
        }
      } catch {
        // The line is lost; what was being logged goes on.
      }
    };
  return fromLevels(call);
}

/**
 * A logger that adds `base` to the fields of every line (the worker's id, say);
 * the call site's own fields win over it.
 */
export function withFields(logger: Logger | StructuredLogger, base: LogFields): FieldLogger {
  const inner = adaptLogger(logger);
  const call =
    (level: Level) =>
    (message: string, fields?: LogFields): void =>
      inner[level](message, fields ? { ...base, ...fields } : base);
  return fromLevels(call);
}

/**
 * A logger that starts every message with `prefix` (`worker w1: `, say): the
 * lines of one component name it the same way, whichever of its parts wrote them.
 */
export function withPrefix(logger: FieldLogger, prefix: string): FieldLogger {
  const call =
    (level: Level) =>
    (message: string, fields?: LogFields): void =>
      logger[level](prefix + message, fields);
  return fromLevels(call);
}

/** A logger ringcast calls, whose every level is `call(level)`, marked as adapted. */
function fromLevels(
  call: (level: Level) => (message: string, fields?: LogFields) => void,
): Adapted {
  return { info: call('info'), warn: call('warn'), error: call('error'), [ADAPTED]: true };
}

function redactFields(fields: LogFields): LogFields {
  let out: Record<string, string | number | boolean | undefined> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value !== 'string') continue;
    const redacted = redactText(value);
    if (redacted === value) continue;
    out ??= { ...fields };
    out[key] = redacted;
  }
  return out ?? fields;
}

/**
 * The `logger` option, checked and adapted ({@link adaptLogger}) once for every
 * caller. `undefined` takes `fallback` as it is, `false` is silence, anything
 * else must have the three methods, or `invalid` is called.
 */
export function parseLogger(
  value: unknown,
  fallback: Logger,
  invalid: (why: string) => never,
): Logger {
  if (value === undefined) return fallback;
  if (value === false) return silentLogger;
  const l = value as Partial<Record<Level, unknown>> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.info !== 'function' ||
    typeof l.warn !== 'function' ||
    typeof l.error !== 'function'
  ) {
    invalid('logger must be false or an object with info, warn and error functions');
  }
  return adaptLogger(value as Logger);
}
