// Half of npm test's simulator batch; the other half is in sim-a.test.ts so the two run in parallel.
import { it } from 'vitest';
import { expectSeedsHold } from './testing/expect-seeds.js';

it('the simulated seeds from 100001 break no invariant', () => expectSeedsHold(100001), 240_000);
