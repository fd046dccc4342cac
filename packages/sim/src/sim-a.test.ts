// Half of npm test's simulator batch; the other half is in sim-b.test.ts so the two run in parallel.
// The timeout guards against a hang, not a slow machine: a loaded 2-core CI box takes ~90 s.
import { it } from 'vitest';
import { expectSeedsHold } from './testing/expect-seeds.js';

it('the simulated seeds from 1 break no invariant', () => expectSeedsHold(1), 240_000);
