// What the use cases report for operators' metrics. The domain only calls
// this interface; src/metrics/ turns it into Prometheus series (prom-client)
// when METRICS_PORT is set, and noMetrics does nothing otherwise. No method
// takes a viewer, a key or a token: nothing personal can reach a label.

import type { IngestOutcomeName } from "../store/ingest.js";

export type IngestRowsOutcome = IngestOutcomeName;
export type StoreFailureKind = "unavailable" | "transient" | "other";

export interface JobRun {
  job: "purge" | "aggregate";
  outcome: "ok" | "failed" | "skipped";
  seconds: number;
  partitionsDropped?: number;
  daysAggregated?: number;
}

export interface TelemetryMetrics {
  /** Rows of counts of one ingest request, by what became of them. */
  ingestRows(outcome: IngestRowsOutcome, rows: number): void;
  /** One group commit: its requests, its rows, how long the store took. */
  batchCommitted(requests: number, rows: number, seconds: number): void;
  /** One summary answered (the group read included). */
  summaryRead(seconds: number): void;
  storeError(kind: StoreFailureKind): void;
  jobRun(run: JobRun): void;
}

export const noMetrics: TelemetryMetrics = {
  ingestRows() {},
  batchCommitted() {},
  summaryRead() {},
  storeError() {},
  jobRun() {},
};
