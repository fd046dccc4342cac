export { Checker, type HandlerOutput, type Outcome } from './checker.js';
export { FAULT_KINDS, type Fault, type FaultKind, type FaultPlan, planFaults } from './faults.js';
export { Random } from './random.js';
export { Trace } from './trace.js';
