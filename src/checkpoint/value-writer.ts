// The state value format's fast writer: MessagePack written straight into a buffer for the values state holds.
import { Packr } from 'msgpackr/pack';

/** Extension types of the format: `m` is floe's own (a Map as one array `[k0, v0, k1, v1, ...]`), `s` is msgpackr's Set. */
export const MAP_TAG = 0x6d;
export const SET_TAG = 0x73;
/** floe's `u`: a string that is not well-formed UTF-16 (a lone surrogate), as the array of its code units: UTF-8 cannot carry it */
export const LONE_SURROGATE_TAG = 0x75;

/** Whether `s` is well-formed UTF-16 (`String.prototype.isWellFormed`, Node 20, not in the ES2022 typings). */
export const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** msgpackr's structured clone options: Date, RegExp, typed arrays, ArrayBuffer, DataView and big BigInts as its extensions */
export const leafPackr = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

/** Built-ins msgpackr encodes exactly on their own (a Buffer decodes as a Buffer, a Uint8Array as a Uint8Array). */
export function isPackedLeaf(v: object): boolean {
  const c = v.constructor;
  return c === Date || c === RegExp || c === ArrayBuffer || c === DataView || ArrayBuffer.isView(v);
}

/**
 * Writes the state value format straight into one buffer, with no intermediate arrays and no
 * reference tracking: null, booleans, numbers (-0 as a float), strings, undefined, BigInt, arrays,
 * plain objects (map16, which the decoder reads as an object), Map (the `m` tag over its keys and
 * values, interleaved), Set (msgpackr's `s` tag over its elements), and Date, RegExp and binary data as msgpackr
 * packs them alone. `value` returns false for anything else (shared or cyclic references, sparse
 * arrays, functions, symbols, class instances, nesting past 32): the caller then goes through
 * `packStateValue`'s slow path, which either encodes it faithfully or names what cannot be.
 */
export class ValueWriter {
  buf: Buffer;
  pos = 0;
  /** objects of the value being written: a second visit means a shared or cyclic reference */
  readonly #seen = new Set<object>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /**
   * `s` from `from` on as a fixstr, byte by byte (cheaper than a native call per string), if it is
   * short ASCII; false (nothing written) otherwise.
   */
  #shortAscii(s: string, from: number): boolean {
    const len = s.length - from;
    if (len >= 32) return false;
    this.ensure(len + 1);
    const b = this.buf;
    const at = this.pos + 1;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(from + i);
      if (c >= 0x80) return false;
      b[at + i] = c;
    }
    b[at - 1] = 0xa0 | len;
    this.pos = at + len;
    return true;
  }

  string(s: string): void {
    if (this.#shortAscii(s, 0)) return;
    if (!isWellFormed(s)) return this.#loneSurrogates(s);
    const len = s.length;
    const max = len * 3;
    this.ensure(max + 5);
    const b = this.buf;
    let at = this.pos;
    // the header is sized for the longest encoding; msgpack allows a longer header than needed
    if (max < 32) {
      const n = b.write(s, at + 1, 'utf8');
      b[at] = 0xa0 | n;
      at += 1 + n;
    } else if (max < 256) {
      const n = b.write(s, at + 2, 'utf8');
      b[at] = 0xd9;
      b[at + 1] = n;
      at += 2 + n;
    } else if (max < 65536) {
      const n = b.write(s, at + 3, 'utf8');
      b[at] = 0xda;
      b.writeUInt16BE(n, at + 1);
      at += 3 + n;
    } else {
      const n = b.write(s, at + 5, 'utf8');
      b[at] = 0xdb;
      b.writeUInt32BE(n, at + 1);
      at += 5 + n;
    }
    this.pos = at;
  }

  /** `s.slice(from)` as a string, without making that slice where it is short ASCII. */
  stringFrom(s: string, from: number): void {
    if (!this.#shortAscii(s, from)) this.string(s.slice(from));
  }

  /** A string with a lone surrogate: its code units under the `u` tag (UTF-8 would turn it into U+FFFD). */
  #loneSurrogates(s: string): void {
    this.tag(LONE_SURROGATE_TAG);
    this.arrayHeader(s.length);
    for (let i = 0; i < s.length; i++) this.number(s.charCodeAt(i));
  }

  number(n: number): void {
    this.ensure(9);
    const b = this.buf;
    const at = this.pos;
    if (Number.isInteger(n) && !Object.is(n, -0) && n >= -0x80000000 && n <= 0xffffffff) {
      if (n >= 0) {
        if (n < 0x80) {
          b[at] = n;
          this.pos = at + 1;
        } else if (n < 0x100) {
          b[at] = 0xcc;
          b[at + 1] = n;
          this.pos = at + 2;
        } else if (n < 0x10000) {
          b[at] = 0xcd;
          b.writeUInt16BE(n, at + 1);
          this.pos = at + 3;
        } else {
          b[at] = 0xce;
          b.writeUInt32BE(n, at + 1);
          this.pos = at + 5;
        }
      } else if (n >= -0x20) {
        b[at] = n & 0xff;
        this.pos = at + 1;
      } else if (n >= -0x80) {
        b[at] = 0xd0;
        b.writeInt8(n, at + 1);
        this.pos = at + 2;
      } else if (n >= -0x8000) {
        b[at] = 0xd1;
        b.writeInt16BE(n, at + 1);
        this.pos = at + 3;
      } else {
        b[at] = 0xd2;
        b.writeInt32BE(n, at + 1);
        this.pos = at + 5;
      }
      return;
    }
    b[at] = 0xcb;
    b.writeDoubleBE(n, at + 1);
    this.pos = at + 9;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x90 | n;
    else if (n < 65536) {
      b[this.pos] = 0xdc;
      b.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      b[this.pos] = 0xdd;
      b.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
  }

  /** map16 header: packr reads it back as a plain object */
  objectHeader(n: number): void {
    this.ensure(3);
    this.buf[this.pos] = 0xde;
    this.buf.writeUInt16BE(n, this.pos + 1);
    this.pos += 3;
  }

  byte(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }

  /**
   * A `[key, value]` pair, as `entry()`, a fixarray header and two `value`s write it. The most common
   * pair (a short ASCII string key, a non-negative integer below 2^32) is written inline: a full
   * snapshot writes millions of them.
   */
  pair(k: unknown, v: unknown): boolean {
    if (typeof k === 'string' && typeof v === 'number') {
      const len = k.length;
      // an integer in 0..2^32-1 that is not -0
      if (len < 32 && v >>> 0 === v && (v !== 0 || 1 / v > 0)) {
        let at = this.pos;
        if (at + len + 7 > this.buf.length) {
          this.ensure(len + 7);
          at = this.pos;
        }
        const b = this.buf;
        b[at] = 0x92;
        b[at + 1] = 0xa0 | len;
        at += 2;
        // copied first, checked once: a character past 0x7f sends the pair to the general path
        let bits = 0;
        for (let i = 0; i < len; i++) {
          const c = k.charCodeAt(i);
          bits |= c;
          b[at + i] = c;
        }
        if (bits < 0x80) {
          at += len;
          if (v < 0x80) b[at++] = v;
          else if (v < 0x100) {
            b[at] = 0xcc;
            b[at + 1] = v;
            at += 2;
          } else if (v < 0x10000) {
            b[at] = 0xcd;
            b[at + 1] = v >>> 8;
            b[at + 2] = v & 0xff;
            at += 3;
          } else {
            b[at] = 0xce;
            b[at + 1] = v >>> 24;
            b[at + 2] = (v >>> 16) & 0xff;
            b[at + 3] = (v >>> 8) & 0xff;
            b[at + 4] = v & 0xff;
            at += 5;
          }
          this.pos = at;
          return true;
        }
      }
    }
    this.entry();
    this.byte(0x92);
    return this.value(k) && this.value(v);
  }

  /** Forgets the objects seen: called per entry, so references shared within one entry are detected. */
  entry(): void {
    if (this.#seen.size > 0) this.#seen.clear();
  }

  /** A whole value (a key or a state value); false if it needs packr. */
  value(v: unknown): boolean {
    // most keys and values are one string or number: no trip through the general case
    if (typeof v === 'string') {
      this.string(v);
      return true;
    }
    if (typeof v === 'number') {
      this.number(v);
      return true;
    }
    return this.#any(v, 0);
  }

  #any(v: unknown, depth: number): boolean {
    switch (typeof v) {
      case 'string':
        this.string(v);
        return true;
      case 'number':
        this.number(v);
        return true;
      case 'boolean':
        this.byte(v ? 0xc3 : 0xc2);
        return true;
      case 'undefined':
        this.ensure(3);
        this.buf[this.pos] = 0xd4;
        this.buf[this.pos + 1] = 0;
        this.buf[this.pos + 2] = 0;
        this.pos += 3;
        return true;
      case 'bigint':
        return this.#bigint(v);
      case 'object':
        break;
      default:
        return false;
    }
    if (v === null) {
      this.byte(0xc0);
      return true;
    }
    if (depth > 32) return false; // deep, or a cycle through the top value: the slow path
    // the top value can only be met again through a cycle, which the depth bound catches: not tracked
    if (depth > 0) {
      if (this.#seen.has(v)) return false;
      this.#seen.add(v);
    }
    if (Array.isArray(v)) {
      if (v.constructor !== Array) return false;
      this.arrayHeader(v.length);
      // a hole reads as undefined and is written as one: restored dense, as the slow path does
      for (let i = 0; i < v.length; i++) if (!this.#any(v[i], depth + 1)) return false;
      return true;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return this.#special(v, depth);
    // symbol keys are left out, as structuredClone leaves them out
    const keys = Object.keys(v);
    if (keys.length >= 65536) return false;
    this.objectHeader(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      this.string(k);
      if (!this.#any((v as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return true;
  }

  /** Map, Set, and the leaves msgpackr packs exactly by themselves; false for any other class. */
  #special(v: object, depth: number): boolean {
    if (v instanceof Map) {
      if (v.constructor !== Map) return false;
      this.tag(MAP_TAG);
      this.arrayHeader(v.size * 2);
      for (const [k, x] of v) if (!this.#any(k, depth + 1) || !this.#any(x, depth + 1)) return false;
      return true;
    }
    if (v instanceof Set) {
      if (v.constructor !== Set) return false;
      this.tag(SET_TAG);
      this.arrayHeader(v.size);
      for (const x of v) if (!this.#any(x, depth + 1)) return false;
      return true;
    }
    if (v.constructor === Date) {
      this.date(v as Date);
      return true;
    }
    if (!isPackedLeaf(v)) return false;
    // packed alone: no reference to share inside it, so the bytes are the same as within a bigger value
    const bytes = leafPackr.pack(v);
    this.ensure(bytes.length);
    this.pos += bytes.copy(this.buf, this.pos);
    return true;
  }

  #bigint(v: bigint): boolean {
    if (v < -0x8000000000000000n || v > 0xffffffffffffffffn) {
      const bytes = leafPackr.pack(v); // msgpackr's BigInt extension (moreTypes)
      this.ensure(bytes.length);
      this.pos += bytes.copy(this.buf, this.pos);
      return true;
    }
    // int64/uint64 only ever hold a BigInt here: numbers past 32 bits are written as floats, so the decoder's BigInt is exact
    this.ensure(9);
    if (v < 0x8000000000000000n) {
      this.buf[this.pos] = 0xd3;
      this.buf.writeBigInt64BE(v, this.pos + 1);
    } else {
      this.buf[this.pos] = 0xcf;
      this.buf.writeBigUInt64BE(v, this.pos + 1);
    }
    this.pos += 9;
    return true;
  }

  /** A MessagePack timestamp (ext -1), as msgpackr reads it: 64-bit from 1970 to 2514, 96-bit otherwise; an invalid Date as msgpackr writes it. */
  date(d: Date): void {
    const t = d.getTime();
    if (Number.isNaN(t)) {
      const bytes = leafPackr.pack(d);
      this.ensure(bytes.length);
      this.pos += bytes.copy(this.buf, this.pos);
      return;
    }
    const sec = Math.floor(t / 1000);
    const nsec = (t - sec * 1000) * 1e6;
    this.ensure(15);
    const b = this.buf;
    if (sec >= 0 && sec < 0x400000000) {
      b[this.pos] = 0xd7;
      b[this.pos + 1] = 0xff;
      b.writeUInt32BE(((nsec << 2) | Math.floor(sec / 0x100000000)) >>> 0, this.pos + 2);
      b.writeUInt32BE(sec >>> 0, this.pos + 6);
      this.pos += 10;
    } else {
      b[this.pos] = 0xc7;
      b[this.pos + 1] = 12;
      b[this.pos + 2] = 0xff;
      b.writeUInt32BE(nsec, this.pos + 3);
      b.writeBigInt64BE(BigInt(sec), this.pos + 7);
      this.pos += 15;
    }
  }

  /** A tag extension: the value written next is its data (msgpackr's `d4 type 00`). */
  tag(type: number): void {
    this.ensure(3);
    this.buf[this.pos] = 0xd4;
    this.buf[this.pos + 1] = type;
    this.buf[this.pos + 2] = 0;
    this.pos += 3;
  }

  /** A `[k, v][]` map value (map state) from its Map of `[k, v]`; false if it needs packr. */
  mapEntries(m: Map<unknown, readonly [unknown, unknown]>): boolean {
    this.arrayHeader(m.size);
    for (const e of m.values()) {
      this.byte(0x92);
      if (!this.value(e[0]) || !this.value(e[1])) return false;
    }
    return true;
  }
}
