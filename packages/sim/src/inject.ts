/** Injecting one planned fault into a world, and healing every connection once faults stop. */

import { names } from '@ringcast/protocol';
import { NAMESPACE } from './deployment-settings.js';
import type { Fault } from './faults.js';
import type { Random } from './random.js';
import type { SimProcess } from './sim-process.js';
import type { World } from './world.js';

/** Restores every cut connection of a live process, and the checker's own. */
export function healAll(world: World): void {
  for (const p of [...world.dispatchers, ...world.workers] as SimProcess[]) {
    if (p.clock.dead) continue;
    for (const connection of p.connections()) connection.restore();
  }
  for (const connection of world.observers) connection.restore();
}

/** The process a fault that hits one process hits. */
function targetOf(world: World, fault: Fault): SimProcess {
  const processes: SimProcess[] = [...world.dispatchers, ...world.workers];
  return processes[fault.target % processes.length]!;
}

/**
 * Whether `fault` can lapse a dispatcher's owner heartbeat, so that another
 * dispatcher adopts its durable tasks while it may still run them: it crashed or
 * was paused, its command connection was cut, or Redis stalled or restarted.
 */
export function mayHandOverOwnership(world: World, fault: Fault): boolean {
  switch (fault.kind) {
    case 'dispatcher-crash':
    case 'dispatcher-pause':
    case 'redis-stall':
    case 'redis-restart':
      return true;
    case 'command-drop':
      return (world.dispatchers as readonly SimProcess[]).includes(targetOf(world, fault));
    default:
      return false;
  }
}

/** Applies one fault; false when it had nothing to hit (then it is not counted). */
export function inject(world: World, fault: Fault, random: Random, persisted: boolean): boolean {
  const { clock, redis } = world;
  const target = targetOf(world, fault);
  const workers = world.workers.filter((w) => w.state === 'running');
  const worker = workers.length > 0 ? workers[fault.target % workers.length] : undefined;
  const later = (ms: number, what: () => void) => clock.setTimeout(what, ms);
  switch (fault.kind) {
    case 'subscriber-drop':
    case 'command-drop': {
      if (target.clock.dead) return false;
      const connection = fault.kind === 'command-drop' ? target.command() : target.subscriber();
      if (connection?.status !== 'ready') return false;
      world.log(
        `FAULT ${fault.kind} ${target.id} for ${fault.durationMs} ms (in flight: ${fault.inFlight})`,
      );
      connection.drop(fault.inFlight);
      later(fault.durationMs, () => {
        if (!target.clock.dead) connection.restore();
      });
      return true;
    }
    case 'redis-stall':
      world.log(`FAULT redis-stall ${fault.durationMs} ms`);
      redis.stall(fault.durationMs);
      return true;
    case 'redis-restart':
      world.log(`FAULT redis-restart, down ${fault.durationMs} ms (in flight: ${fault.inFlight})`);
      redis.restart(fault.inFlight, persisted);
      later(fault.durationMs, () => healAll(world));
      return true;
    case 'worker-crash':
      if (!worker) return false;
      world.log(`FAULT worker-crash ${worker.id}`);
      world.crash(worker, fault.inFlight);
      return true;
    case 'worker-restart': {
      const crashed = world.workers.find(
        (w) =>
          w.state === 'crashed' &&
          !world.workers.some((o) => o.id === w.id && o.state === 'running'),
      );
      const victim = crashed ?? worker;
      if (!victim) return false;
      world.log(`FAULT worker-restart ${victim.id}`);
      if (victim.state !== 'crashed') world.crash(victim, fault.inFlight);
      later(random.int(0, 1_000), () => {
        // Not once the run is closing, nor while another process serves the id.
        const taken = world.workers.some((w) => w.id === victim.id && w.state !== 'crashed');
        if (!world.stopped && !taken) void world.addWorker(victim.id);
      });
      return true;
    }
    case 'worker-pause':
      if (!worker) return false;
      world.log(`FAULT worker-pause ${worker.id} for ${fault.durationMs} ms`);
      world.pause(worker, fault.durationMs);
      return true;
    case 'worker-block':
      if (!worker) return false;
      world.log(`FAULT worker-block ${worker.id} for ${fault.durationMs} ms`);
      world.block(worker, fault.durationMs);
      return true;
    case 'worker-drain':
      if (!worker) return false;
      world.log(`FAULT worker-drain ${worker.id}`);
      void world.drain(worker);
      return true;
    case 'worker-join':
      if (world.stopped) return false;
      world.log('FAULT worker-join');
      void world.addWorker();
      return true;
    case 'dispatcher-crash': {
      const live = world.liveDispatchers;
      const victim = live[fault.target % Math.max(1, live.length)];
      if (!victim) return false;
      world.log(`FAULT dispatcher-crash ${victim.id}`);
      world.crashDispatcher(victim, fault.inFlight);
      // Another starts a little later: under the same id (it takes the tasks back at
      // start) or a new one (it adopts them once the dead one's heartbeat lapsed).
      const sameId = random.chance(0.5);
      later(random.int(0, 1_500), () => {
        if (!world.stopped) void world.addDispatcher(sameId ? victim.id : undefined);
      });
      return true;
    }
    case 'dispatcher-pause': {
      const live = world.liveDispatchers;
      const victim = live[fault.target % Math.max(1, live.length)];
      if (!victim) return false;
      world.log(`FAULT dispatcher-pause ${victim.id} for ${fault.durationMs} ms`);
      victim.clock.freeze(fault.durationMs);
      return true;
    }
    case 'registry-log-loss': {
      if (!worker) return false;
      world.log(`FAULT registry-log-loss ${worker.id}`);
      const n = names(NAMESPACE);
      redis.zrem(n.registryChangesKey, [worker.id]);
      redis.zrem(n.heartbeatDeadlinesKey, [worker.id]);
      world.crash(worker, fault.inFlight);
      return true;
    }
    case 'clock-skew':
      if (target.clock.dead) return false;
      world.log(`FAULT clock-skew ${target.id} to ${fault.durationMs} ms`);
      target.clock.skew = fault.durationMs;
      return true;
    default:
      return false;
  }
}
