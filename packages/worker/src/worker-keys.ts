/**
 * The Redis keys a worker writes under its id, named once for both transports
 * (redis-transport.ts and memory-transport.ts), so that they beat and leave
 * over the same keys.
 */
import type { Names, RegistryLogKeys } from '@ringcast/protocol';

/** The keys of worker `id`'s beats and its leave in the registry and its change log. */
export function registryLogKeys(names: Names, id: string): RegistryLogKeys {
  return {
    registryKey: names.registryKey,
    heartbeatKey: names.heartbeatKey(id),
    registryVersionKey: names.registryVersionKey,
    registryChangesKey: names.registryChangesKey,
    heartbeatDeadlinesKey: names.heartbeatDeadlinesKey,
    weightsKey: names.weightsKey,
  };
}

/**
 * What a leaving worker deletes besides its registry entry: its id claim and its
 * stats report. On a cluster the claim lives in the id's slot and the stats key
 * in the namespace's, so each is deleted apart from the other and the registry.
 */
export function leaveKeys(names: Names, id: string): string[] {
  return [names.claimKey(id), names.workerStatsKey(id)];
}
