import { version } from "../../package.json";
import { processSamples } from "./process-metrics";

const PREFIX = "micro_analytics_";
/**
 * Upper bounds of the latency histogram, in seconds: from a millisecond (an
 * ingest) to ten minutes, as a first query over years builds its month
 * summaries for minutes.
 */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** A reading taken from elsewhere (the pool, the disk) when metrics are scraped. */
export interface Sample {
  name: string;
  help: string;
  type: "counter" | "gauge";
  value: number;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** Counters kept by the service itself, rendered in the Prometheus text format with the process' own metrics. */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private ingested = 0;
  private bots = 0;
  private anonymized = 0;
  private erased = 0;

  /** `route` is the route's pattern (`/:website/count`), never the raw path, to keep labels few. */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${route}",method="${method}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const labels = `route="${route}",method="${method}"`;
    let histogram = this.latency.get(labels);
    if (!histogram) this.latency.set(labels, (histogram = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) histogram.buckets[i]!++;
    histogram.sum += seconds;
    histogram.count++;
  }

  eventsIngested(count: number): void {
    this.ingested += count;
  }

  botsDropped(count: number): void {
    this.bots += count;
  }

  /** An address was stored hashed, or not at all (--ip-mode hash, daily, none). */
  eventAnonymized(): void {
    this.anonymized++;
  }

  eventsErased(count: number): void {
    this.erased += count;
  }

  render(samples: Sample[]): string {
    const lines: string[] = [];
    const head = (name: string, help: string, type: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    head(`${PREFIX}build_info`, "The running build: always 1, its versions in the labels.", "gauge");
    lines.push(`${PREFIX}build_info{version="${version}",bun_version="${Bun.version}"} 1`);

    head(`${PREFIX}http_requests_total`, "HTTP requests answered, by route pattern, method and status.", "counter");
    for (const [labels, count] of this.requests) lines.push(`${PREFIX}http_requests_total{${labels}} ${count}`);

    head(`${PREFIX}http_request_duration_seconds`, "Time from request to answer (to its last byte, for a streamed one), by route pattern and method.", "histogram");
    for (const [labels, h] of this.latency) {
      BUCKETS.forEach((bound, i) => lines.push(`${PREFIX}http_request_duration_seconds_bucket{${labels},le="${bound}"} ${h.buckets[i]}`));
      lines.push(
        `${PREFIX}http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`,
        `${PREFIX}http_request_duration_seconds_sum{${labels}} ${h.sum}`,
        `${PREFIX}http_request_duration_seconds_count{${labels}} ${h.count}`,
      );
    }

    head(`${PREFIX}events_ingested_total`, "Events stored and acknowledged.", "counter");
    lines.push(`${PREFIX}events_ingested_total ${this.ingested}`);
    head(`${PREFIX}events_dropped_bots_total`, "Events not stored because their User-Agent is a bot's (--bots drop).", "counter");
    lines.push(`${PREFIX}events_dropped_bots_total ${this.bots}`);
    head(`${PREFIX}events_anonymized_total`, "Events whose address was stored as a keyed hash, or not at all (--ip-mode).", "counter");
    lines.push(`${PREFIX}events_anonymized_total ${this.anonymized}`);
    head(`${PREFIX}events_erased_total`, "Events deleted by visitor erasure (DELETE /:website/visitors/:ip).", "counter");
    lines.push(`${PREFIX}events_erased_total ${this.erased}`);

    for (const sample of samples) {
      head(`${PREFIX}${sample.name}`, sample.help, sample.type);
      lines.push(`${PREFIX}${sample.name} ${sample.value}`);
    }
    for (const sample of processSamples()) {
      head(sample.name, sample.help, sample.type);
      lines.push(`${sample.name} ${formatValue(sample.value)}`);
    }
    return lines.join("\n") + "\n";
  }
}

function formatValue(value: number): string {
  return value === Infinity ? "+Inf" : String(value);
}
