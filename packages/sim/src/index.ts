export { Checker, type HandlerOutput, type Outcome } from './checker.js';
export { Random } from './random.js';
