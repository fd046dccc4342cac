/**
 * @internal Not part of the documented API: the worker core on a transport of
 * the caller's choosing, for unit tests and the deterministic simulator.
 * Imported as `@ringcast/worker/internal`; it may change in any release.
 */
export { MemoryWorkerTransport } from './memory-transport.js';
export { RedisWorkerTransport } from './redis-transport.js';
export type { WorkerTransport, WorkerTransportEvents } from './transport.js';
export { type CoreTuning, createWorkerCore } from './worker.js';
