// The LRU behind the verified-session cache and the viewer-id memo: bounded
// whatever arrives, and the entry forgotten is always the least recently used.
import { Lru } from "../../src/lib/lru.js";

test("never holds more than its capacity, however many distinct keys arrive", () => {
  const lru = new Lru<string, number>(1_000);
  for (let i = 0; i < 100_000; i++) {
    lru.set(`viewer-${i}`, i);
    expect(lru.size).toBeLessThanOrEqual(1_000);
  }
  expect(lru.size).toBe(1_000);
  // The last 1 000 are the ones kept.
  expect(lru.get("viewer-98999")).toBeUndefined();
  expect(lru.get("viewer-99000")).toBe(99_000);
  expect(lru.get("viewer-99999")).toBe(99_999);
});

test("a read makes an entry the most recently used: the oldest unread one goes first", () => {
  const lru = new Lru<string, string>(3);
  lru.set("a", "A");
  lru.set("b", "B");
  lru.set("c", "C");
  expect(lru.get("a")).toBe("A"); // a is now the youngest; b the oldest
  lru.set("d", "D");
  expect(lru.get("b")).toBeUndefined();
  expect([lru.get("a"), lru.get("c"), lru.get("d")]).toEqual(["A", "C", "D"]);
});

test("setting a key again replaces its value and makes it the youngest", () => {
  const lru = new Lru<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  lru.set("a", 3);
  lru.set("c", 4);
  expect(lru.size).toBe(2);
  expect(lru.get("a")).toBe(3);
  expect(lru.get("b")).toBeUndefined();
});

test("a key equal to a stored one finds it, whatever string object it is", () => {
  const lru = new Lru<string, number>(2);
  const stored = ["eyJ", "hbGciOi"].join("");
  lru.set(stored, 7);
  const fresh = Buffer.from("eyJhbGciOi").toString(); // an equal string built elsewhere, as from a header
  expect(lru.get(fresh)).toBe(7);
  expect(lru.get(fresh)).toBe(7);
  lru.delete(fresh);
  expect(lru.size).toBe(0);
});

test("a capacity below one is refused", () => {
  expect(() => new Lru(0)).toThrow(RangeError);
  expect(() => new Lru(Number.NaN)).toThrow(RangeError);
});
