// The per-request deadline without a timer per request: requests are queued in
// arrival order (they all share REQUEST_TIMEOUT_MS, so the queue is also in
// deadline order) and one sweep, every few milliseconds while any is waiting,
// answers those past their deadline. A request whose body has not fully
// arrived is the client's slowness (408 request_timeout); one that has is
// waiting on the database (503 store_unavailable). The database cancels
// statements at half the deadline, so a 503 here almost never hides a commit.
import type { IncomingMessage, ServerResponse } from "node:http";

interface Tracked {
  req: IncomingMessage;
  res: ServerResponse;
  /** Answers the request: called once, only if nothing was sent yet. */
  expire(slowClient: boolean): void;
}

export interface Deadlines {
  /** Watches a request until `settled` is called (when it is answered). */
  track(t: Tracked): { settled(): void };
}

export function createDeadlines(timeoutMs: number): Deadlines {
  const sweepMs = Math.max(10, Math.min(250, Math.floor(timeoutMs / 8)));
  // An answered request drops its entry's references at once, so its request and
  // response objects die young (held until the next sweep they would outlive
  // two scavenges and be promoted: peak RSS grew by ~100 MB under load).
  let queue: { t: Tracked | undefined; at: number }[] = [];
  let head = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const sweep = () => {
    const now = performance.now();
    while (head < queue.length) {
      const { t, at } = queue[head]!;
      if (t && !t.res.headersSent && !t.res.writableEnded) {
        if (at > now) break;
        t.expire(!t.req.complete);
      }
      head += 1;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
      clearInterval(timer);
      timer = undefined;
    } else if (head > 4096) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  return {
    track(t) {
      const entry: { t: Tracked | undefined; at: number } = { t, at: performance.now() + timeoutMs };
      queue.push(entry);
      if (!timer) {
        timer = setInterval(sweep, sweepMs);
        timer.unref();
      }
      return {
        settled() {
          entry.t = undefined;
        },
      };
    },
  };
}
