// src/http/deadlines.ts: one sweep instead of a timer per request — a request
// unanswered at its deadline is expired once (the client's fault if its body
// had not arrived), an answered one never.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createDeadlines } from "../../../src/http/deadlines.js";

const pair = (complete: boolean) => ({
  req: { complete } as IncomingMessage,
  res: { headersSent: false, writableEnded: false } as ServerResponse,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an unanswered request expires once, after its deadline, saying whether the client was slow", async () => {
  const deadlines = createDeadlines(40);
  const calls: boolean[] = [];
  const slow = pair(false);
  const waiting = pair(true);
  deadlines.track({ ...slow, expire: (slowClient) => calls.push(slowClient) });
  deadlines.track({ ...waiting, expire: (slowClient) => calls.push(slowClient) });
  expect(calls).toEqual([]); // not before the deadline
  await sleep(150);
  expect(calls.sort()).toEqual([false, true]);
  await sleep(60);
  expect(calls).toHaveLength(2); // once each
});

test("a request settled (or already answered) before its deadline never expires", async () => {
  const deadlines = createDeadlines(30);
  const expired: string[] = [];
  const settled = deadlines.track({ ...pair(true), expire: () => expired.push("settled") });
  const answered = pair(true);
  deadlines.track({ ...answered, expire: () => expired.push("answered") });
  settled.settled();
  (answered.res as { headersSent: boolean }).headersSent = true;
  await sleep(120);
  expect(expired).toEqual([]);
});
