/**
 * The strategy a dispatcher's `strategy` option names. Each lives in its own
 * file beside this one; this maps a name to a fresh instance.
 */
import type { Candidate, Strategy, StrategyName } from '../strategy.js';
import { ConsistentHash } from './consistent-hash.js';
import { Latency } from './latency.js';
import { LeastInflight } from './least-inflight.js';
import { PowerOfTwo } from './power-of-two.js';
import { WeightedRandom } from './random.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

export interface StrategySettings {
  /** ε of `consistent-hash`'s bounded loads; `Infinity` for none. */
  hashLoadEpsilon: number;
  /** Uniform numbers in [0, 1) for `random` and `power-of-two`; `Math.random` (read at each call) by default. */
  random?: () => number;
}

export function createStrategy<W extends Candidate>(
  name: StrategyName,
  settings: StrategySettings,
): Strategy<W> {
  switch (name) {
    case 'weighted-round-robin':
      return new WeightedRoundRobin<W>();
    case 'round-robin':
      return new RoundRobin<W>();
    case 'random':
      return new WeightedRandom<W>(settings.random);
    case 'least-inflight':
      return new LeastInflight<W>();
    case 'power-of-two':
      return new PowerOfTwo<W>(settings.random);
    case 'consistent-hash':
      return new ConsistentHash<W>(settings.hashLoadEpsilon);
    case 'latency':
      return new Latency<W>();
  }
}
