export { STATUS_BY_CODE, TRANSIENT_CODES } from './http-status.js';
export {
  classify,
  DEFAULT_CONCURRENCY,
  DEFAULT_RATE,
  type LoadOptions,
  type LoadSummary,
  type Outcome,
  passed,
  type RouteSummary,
  runLoad,
} from './load.js';
export { formatSummary } from './load-summary.js';
export { type Api, type ApiOptions, startApi } from './server.js';
export {
  DEFAULT_WORKERS,
  REDIS_SERVER_MISSING,
  type System,
  type SystemOptions,
  startSystem,
  type WorkerInfo,
  type WorkerSpec,
} from './system.js';
export type {
  MailReceipt,
  MailRequest,
  Report,
  ReportRequest,
  Tasks,
  Thumbnail,
  ThumbnailRequest,
} from './tasks.js';
export { HANDLERS_MODULE } from './worker-process.js';
