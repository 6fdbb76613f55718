// A bounded ingest load from a second process, for the fault tests.
// Configured by one JSON argument:
//   { url, tokens: [...], concurrency, maxRequests, durationMs, count, event, warmAcks,
//     counts?: [...], mixViewers?: bool, keys?: bool }
// `counts` picks each request's count at random from the list; `mixViewers`
// picks each request's token at random (instead of one per connection);
// `keys` sends a fresh Idempotency-Key with every request.
// Prints `{"warm":true}` once `warmAcks` requests were acknowledged (the test
// injects its fault after that), then one JSON report when done:
//   { sent, acked, ackedRows, statuses: {"200": n, "503": n, …}, connectionErrors, ms }
// Loopback only: the URL must be 127.0.0.1.
const opts = JSON.parse(process.argv[2] ?? "{}");
const target = new URL("/ingest", opts.url);
if (target.hostname !== "127.0.0.1") throw new Error("the load generator only targets 127.0.0.1");

const report = { sent: 0, acked: 0, ackedRows: 0, statuses: {}, connectionErrors: 0, ms: 0 };
const started = Date.now();
const deadline = started + opts.durationMs;
let warm = false;
const pick = (list) => list[Math.floor(Math.random() * list.length)];

async function worker(n) {
  while (report.sent < opts.maxRequests && Date.now() < deadline) {
    report.sent += 1;
    const token = opts.mixViewers ? pick(opts.tokens) : opts.tokens[n % opts.tokens.length];
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    if (opts.keys) headers["idempotency-key"] = crypto.randomUUID();
    try {
      const res = await fetch(target, {
        method: "POST",
        headers,
        body: JSON.stringify({ event: opts.event, count: opts.counts ? pick(opts.counts) : opts.count }),
        signal: AbortSignal.timeout(5_000),
      });
      const answer = await res.json().catch(() => ({}));
      report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        report.acked += 1;
        report.ackedRows += answer.stored;
        if (!warm && report.acked >= opts.warmAcks) {
          warm = true;
          process.stdout.write('{"warm":true}\n');
        }
      }
    } catch {
      // Refused, reset or timed out: not acknowledged, so not counted.
      report.connectionErrors += 1;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
report.ms = Date.now() - started;
process.stdout.write(`${JSON.stringify(report)}\n`);
