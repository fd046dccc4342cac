import { LabelledHistogram } from '@ringcast/protocol';
import { type Metric, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

describe('LabelledHistogram in a prom-client registry', () => {
  it('renders cumulative buckets, +Inf, sum and count per label value', async () => {
    const registry = new Registry();
    const h = new LabelledHistogram('x_seconds', 'help', 'handler');
    registry.registerMetric(h as unknown as Metric);
    const a = h.series('a');
    for (const v of [0.00005, 0.3, 100]) h.observe(a, v);
    h.observe(h.series('b'), 0.0001);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE x_seconds histogram');
    expect(text).toContain('x_seconds_bucket{le="0.0001",handler="a"} 1');
    expect(text).toContain('x_seconds_bucket{le="0.5",handler="a"} 2');
    expect(text).toContain('x_seconds_bucket{le="60",handler="a"} 2');
    expect(text).toContain('x_seconds_bucket{le="+Inf",handler="a"} 3');
    expect(text).toContain('x_seconds_sum{handler="a"} 100.30005');
    expect(text).toContain('x_seconds_count{handler="a"} 3');
    // A value on a bound is in that bucket (le is inclusive).
    expect(text).toContain('x_seconds_bucket{le="0.0001",handler="b"} 1');
  });
});
