/**
 * The fleet's recent past, as the dashboard sampled it: one sample a second
 * (fleet-rates.ts), the last fifteen minutes, oldest first. Fixed memory: the
 * oldest sample goes when a new one comes past the span.
 */
import type { DashboardHistory, HistorySample } from './wire.js';

export const HISTORY_INTERVAL_MS = 1_000;
export const HISTORY_SPAN_MS = 15 * 60_000;

export class History {
  readonly #capacity: number;
  readonly #samples: HistorySample[] = [];

  constructor(capacity = HISTORY_SPAN_MS / HISTORY_INTERVAL_MS) {
    this.#capacity = capacity;
  }

  push(sample: HistorySample): void {
    this.#samples.push(sample);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
  }

  read(): DashboardHistory {
    return {
      intervalMs: HISTORY_INTERVAL_MS,
      spanMs: this.#capacity * HISTORY_INTERVAL_MS,
      samples: [...this.#samples],
    };
  }
}
