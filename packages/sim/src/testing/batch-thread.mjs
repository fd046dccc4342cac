// One thread of runBatchInThreads (batch-threads.ts). Its TypeScript is loaded with tsx,
// registered here: Node 20 does not hand a loader given with --import on to worker threads.
import { register } from 'tsx/esm/api';

register();
await import('./batch-thread-run.ts');
