// Top self-time frames of a V8 .cpuprofile (from `node --cpu-prof`).
// Usage: tsx scripts/bench/profile-top.ts FILE.cpuprofile [--top 15]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: true,
  options: { top: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help || positionals.length !== 1) {
  console.log('usage: tsx scripts/bench/profile-top.ts FILE.cpuprofile [--top N]');
  process.exit(values.help ? 0 : 2);
}
const top = Number(values.top ?? 15);
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;

// Self time per node from the sample stream (each sample is charged the delta that follows it).
const selfUs = new Map<number, number>();
for (let k = 0; k < profile.samples.length; k++) {
  const id = profile.samples[k]!;
  const dt = profile.timeDeltas[k + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}
const byFrame = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  total += us;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}`
    : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  byFrame.set(key, (byFrame.get(key) ?? 0) + us);
}
const rows = [...byFrame.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
for (const [frame, us] of rows) {
  console.log(
    `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${frame}`,
  );
}
