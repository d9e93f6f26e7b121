// k6/metrics (the harness's subset): custom metrics whose samples go to the main thread.
import { currentTags, declareMetric, sample } from '../vu-context.js';
import type { MetricKind, Tags } from '../protocol.js';

class Metric {
  constructor(readonly name: string, kind: MetricKind, isTime: boolean) {
    if (!/^[A-Za-z0-9_]{1,128}$/.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    declareMetric(name, kind, isTime);
  }

  add(value: number | boolean, tags: Tags = {}): void {
    sample(this.name, Number(value), currentTags(tags));
  }
}

export class Counter extends Metric {
  constructor(name: string) { super(name, 'counter', false); }
}
export class Gauge extends Metric {
  constructor(name: string, isTime = false) { super(name, 'gauge', isTime); }
}
export class Rate extends Metric {
  constructor(name: string) { super(name, 'rate', false); }
}
export class Trend extends Metric {
  constructor(name: string, isTime = false) { super(name, 'trend', isTime); }
}

export default { Counter, Gauge, Rate, Trend };
