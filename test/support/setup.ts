// Setup file of the integration project: runs in every test file's worker.
import { installLeakGuard } from './track.js';

installLeakGuard();
