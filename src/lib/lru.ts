// A bounded map that forgets the least recently used entry first: the
// verified-session cache and the viewer-id memo use it, so memory stays
// bounded however many distinct viewers arrive.
//
// An entry keeps the key it was stored under: a hit moves the entry to the
// young end under that same key, not under the caller's (equal) string. The
// caller's key is usually a fresh string from the request's headers; storing
// it on every hit would keep one per request alive until that viewer's next
// request, and that medium-lived garbage is what fills the old generation.
export class Lru<K, V> {
  private readonly map = new Map<K, { key: K; value: V }>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError("an LRU needs room for at least one entry");
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as just used; undefined when absent. */
  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.map.delete(key);
    this.map.set(entry.key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { key, value });
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
