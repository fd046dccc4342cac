// The baseline's echo worker: plain ioredis pub/sub, no acks, no checks, no timers.
// Tasks on `<prefix>:single:<id>` get one PUBLISH per reply; tasks on
// `<prefix>:batched:<id>` arrive as arrays and leave as one PUBLISH per tick.
//
// `<prefix>:wire:<id>` is not the baseline but a step between it and ringcast:
// the batched echo speaking ringcast's frames, through ringcast's own `decode`
// (so with its validation), and nothing else ringcast does. Its replies are one
// `JSON.stringify` per frame, the cheapest way to write those bytes: a ringcast
// worker encodes each reply alone because it keeps each for re-sent attempts.
import { parseArgs } from 'node:util';
import { CompactKind, decode, PROTOCOL_VERSION } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { perTick } from './per-tick.js';

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    prefix: { type: 'string' },
    id: { type: 'string' },
  },
  strict: true,
});
const { redis: url, prefix, id } = values;
if (!url || !prefix || !id) {
  console.error('usage: baseline-worker --redis URL --prefix P --id ID');
  process.exit(2);
}

interface Task {
  i: number;
  p: unknown;
}

const single = `${prefix}:single:${id}`;
const batched = `${prefix}:batched:${id}`;
const wire = `${prefix}:wire:${id}`;
const replySingle = `${prefix}:reply:single`;
const replyBatched = `${prefix}:reply:batched`;
const replyWire = `${prefix}:reply:wire`;

const pub = new Redis(url);
const sub = new Redis(url);

// One reply channel each: their replies of a turn leave together at its end.
const replyBatchedLater = perTick<{ i: number; v: unknown }>(pub, [replyBatched], JSON.stringify);
const replyWireLater = perTick<unknown[]>(pub, [replyWire], (m) =>
  JSON.stringify({ v: PROTOCOL_VERSION, w: id, i: 'wire', m }),
);

sub.on('message', (channel: string, data: string) => {
  if (channel === single) {
    const task = JSON.parse(data) as Task;
    void pub.publish(replySingle, JSON.stringify({ i: task.i, v: task.p }));
  } else if (channel === batched) {
    for (const task of JSON.parse(data) as Task[]) replyBatchedLater({ i: task.i, v: task.p });
  } else {
    const decoded = decode(data);
    if (!decoded.ok) throw decoded.error;
    for (const m of decoded.messages) {
      if (m.kind === 'task') replyWireLater([CompactKind.OK, m.id, m.token, m.payload]);
    }
  }
});

await sub.subscribe(single, batched, wire);
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
