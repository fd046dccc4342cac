export { type BatchResult, describeFailure, runBatch } from './batch.js';
export { Checker, type HandlerOutput, type Outcome } from './checker.js';
export { FAULT_KINDS, type Fault, type FaultKind, type FaultPlan, planFaults } from './faults.js';
export { KNOWN_BUGS, type KnownBug, knownBug } from './known-bugs.js';
export { Random } from './random.js';
export { isFloodRun, type RunOptions, type RunResult, runSeed } from './run.js';
export { Trace } from './trace.js';
export { World } from './world.js';
