// A bounded map that forgets the least recently used entry first: the
// verified-session cache and the viewer-id memo use it, so memory stays
// bounded however many distinct viewers arrive.
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError("an LRU needs room for at least one entry");
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as just used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
