/**
 * @internal Not part of the documented API: the dispatcher core on a transport
 * of the caller's choosing, for unit tests and the deterministic simulator.
 * Imported as `@ringcast/dispatcher/internal`; it may change in any release.
 */
export { type CoreTuning, createDispatcherCore } from './dispatcher.js';
export {
  openField,
  type RecordKeys,
  recordKeys,
  type SealedField,
} from './durable/record-seal.js';
/** One read of the registry and every entry's heartbeat, as a reconcile round does it (the admin CLI's view). */
export { type RegistryRead, type RegistryReader, readRegistry } from './liveness.js';
export { MemoryTransport } from './memory-transport.js';
export { RedisTransport } from './redis-transport.js';
/** The strategies by name, for measuring a pick alone (scripts/bench/pick-cost.ts). */
export { createStrategy } from './strategies/factory.js';
export type { Candidate, Strategy, StrategyName } from './strategy.js';
export {
  type DispatcherTransport,
  MAYBE_HEARD,
  type TransportContext,
  type TransportEvents,
} from './transport.js';
