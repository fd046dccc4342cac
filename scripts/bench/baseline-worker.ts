// The baseline's echo worker: plain ioredis pub/sub, no acks, no checks, no timers.
// Tasks on `<prefix>:single:<id>` get one PUBLISH per reply; tasks on
// `<prefix>:batched:<id>` arrive as arrays and leave as one PUBLISH per tick.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

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
const replySingle = `${prefix}:reply:single`;
const replyBatched = `${prefix}:reply:batched`;

const pub = new Redis(url);
const sub = new Redis(url);
let out: Array<{ i: number; v: unknown }> = [];
let scheduled = false;

const flush = (): void => {
  scheduled = false;
  const replies = out;
  out = [];
  void pub.publish(replyBatched, JSON.stringify(replies));
};

sub.on('message', (channel: string, data: string) => {
  if (channel === single) {
    const task = JSON.parse(data) as Task;
    void pub.publish(replySingle, JSON.stringify({ i: task.i, v: task.p }));
    return;
  }
  for (const task of JSON.parse(data) as Task[]) out.push({ i: task.i, v: task.p });
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});

await sub.subscribe(single, batched);
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
