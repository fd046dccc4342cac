// A hand-made worker's registration, as a real worker's beat writes it: entry, heartbeat,
// deadline and a change logged (protocol registry-log.ts), so dispatchers hear of it.
import { BEAT_SCRIPT, beatKeys, names, type WorkerInfo } from '@ringcast/protocol';
import type { Redis } from 'ioredis';

export async function registerByHand(
  client: Pick<Redis, 'eval'>,
  namespace: string,
  info: WorkerInfo,
  ttlMs: number,
  heartbeat: string = info.incarnation,
  { cluster = false }: { cluster?: boolean } = {},
): Promise<void> {
  const n = names(namespace, { cluster });
  const keys = beatKeys({ ...n, heartbeatKey: n.heartbeatKey(info.id) });
  await client.eval(
    BEAT_SCRIPT,
    keys.length,
    ...keys,
    info.id,
    JSON.stringify(info),
    heartbeat,
    ttlMs,
  );
}
