import { adaptLogger, type FieldLogger, type Logger } from './logger.js';

/**
 * Lines on the console, each prefixed `[name] `: the worker's default logger,
 * and `--log-format text` of the command-line tools. Message only: fields go
 * to structured loggers (see cli-logger.ts for JSON lines).
 */
export function textLogger(name: string): FieldLogger {
  const prefix = `[${name}] `;
  const lines: Logger = {
    info: (message) => console.info(prefix + message),
    warn: (message) => console.warn(prefix + message),
    error: (message) => console.error(prefix + message),
  };
  return adaptLogger(lines);
}
