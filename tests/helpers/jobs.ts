// The purge and the aggregation as the service runs them, for tests that call
// the use cases on a store directly: the default catalog's events and the
// default publication rules (contribution bound, no noise) unless told otherwise.
import { loadCatalog } from "../../src/catalog/catalog.js";
import { REPORT_MAX_PER_VIEWER_DEFAULT } from "../../src/config.js";
import type { Store } from "../../src/store/connection.js";
import { runAggregation, type PublicationRules } from "../../src/telemetry/aggregate.js";
import { secureRandomInt } from "../../src/telemetry/noise.js";
import { runPurge, type PurgeOptions } from "../../src/telemetry/purge.js";

export function defaultRules(overrides: Partial<PublicationRules> = {}): PublicationRules {
  return { maxPerViewer: REPORT_MAX_PER_VIEWER_DEFAULT, epsilon: null, events: loadCatalog(undefined).names, random: secureRandomInt, windowDays: 31, ...overrides };
}

export const aggregate = (store: Store, rules: PublicationRules = defaultRules()) => runAggregation(store, rules);

export const purge = (store: Store, opts: Omit<PurgeOptions, "aggregate">) => runPurge(store, { aggregate: (through) => runAggregation(store, defaultRules(), undefined, { through }), ...opts });
