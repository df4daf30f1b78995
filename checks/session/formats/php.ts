/**
 * PHP's session serialize handlers, read in TypeScript: `php` (`name|value...`), `php_serialize`
 * (one `serialize()`d array) and `php_binary` (length byte, name, value). Objects become plain
 * objects with a `__class` field; nothing is instantiated, so a hostile payload is only data.
 */
export type PhpDecoded = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

const MAX_DEPTH = 64;

class PhpReader {
  pos = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private fail(what: string): never {
    throw new Error(`${what} at byte ${this.pos}`);
  }

  private expect(char: string): void {
    if (this.bytes[this.pos] !== char.charCodeAt(0)) this.fail(`expected "${char}"`);
    this.pos++;
  }

  /** Text up to (not including) `stop`, which is consumed. */
  private until(stop: string): string {
    const end = this.bytes.indexOf(stop, this.pos, 'latin1');
    if (end < 0) this.fail(`missing "${stop}"`);
    const text = this.bytes.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return text;
  }

  private int(stop: string): number {
    const text = this.until(stop);
    if (!/^-?\d+$/.test(text)) this.fail('expected an integer');
    return Number(text);
  }

  private quoted(): string {
    const length = this.int(':');
    this.expect('"');
    if (this.pos + length > this.bytes.length) this.fail('string longer than the data');
    const text = this.bytes.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    this.expect('"');
    return text;
  }

  private members(count: number, depth: number): Array<[string, unknown]> {
    this.expect('{');
    const out: Array<[string, unknown]> = [];
    for (let i = 0; i < count; i++) {
      const key = this.value(depth + 1);
      out.push([String(key), this.value(depth + 1)]);
    }
    this.expect('}');
    return out;
  }

  /** One `serialize()`d value. */
  value(depth = 0): unknown {
    if (depth > MAX_DEPTH) this.fail('nesting deeper than 64');
    const type = String.fromCharCode(this.bytes[this.pos] ?? 0);
    this.pos++;
    if (type === 'N') {
      this.expect(';');
      return null;
    }
    this.expect(':');
    switch (type) {
      case 'b':
        return this.int(';') === 1;
      case 'i':
        return this.int(';');
      case 'd': {
        const text = this.until(';');
        return text === 'INF' ? Infinity : text === '-INF' ? -Infinity : Number(text);
      }
      case 's': {
        const text = this.quoted();
        this.expect(';');
        return text;
      }
      case 'a': {
        const entries = this.members(this.int(':'), depth);
        const isList = entries.every(([k], i) => k === String(i));
        return isList ? entries.map(([, v]) => v) : Object.fromEntries(entries);
      }
      case 'O': {
        const className = this.quoted();
        this.expect(':');
        const props = this.members(this.int(':'), depth).map(
          // Protected and private property names carry NUL-delimited prefixes.
          ([k, v]) => [k.replace(/^\0[^\0]*\0/, ''), v] as const,
        );
        return { __class: className, ...Object.fromEntries(props) };
      }
      case 'E': {
        const text = this.quoted();
        this.expect(';');
        return { __enum: text };
      }
      case 'C': {
        const className = this.quoted();
        this.expect(':');
        const length = this.int(':');
        this.expect('{');
        this.pos += length;
        this.expect('}');
        return { __class: className, __opaque: 'custom serialized (Serializable), not read' };
      }
      case 'r':
      case 'R':
        return { __reference: this.int(';') };
      default:
        return this.fail(`unknown type "${type}"`);
    }
  }

  /** A session name up to `|` (the `php` handler). */
  name(): string {
    return this.until('|');
  }

  /** A length-prefixed name (the `php_binary` handler); the top bit marks an unset variable. */
  binaryName(): { name: string; unset: boolean } {
    const length = this.bytes[this.pos++]!;
    const size = length & 0x7f;
    const name = this.bytes.toString('utf8', this.pos, this.pos + size);
    this.pos += size;
    return { name, unset: (length & 0x80) !== 0 };
  }
}

function decode(bytes: Buffer, read: (reader: PhpReader) => Record<string, unknown>): PhpDecoded {
  const reader = new PhpReader(bytes);
  try {
    const value = read(reader);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: `not PHP session data: ${(err as Error).message}` };
  }
}

/** `session.serialize_handler = php`: `name|serialized` repeated (PHP's default). */
export function decodePhpHandler(bytes: Buffer): PhpDecoded {
  return decode(bytes, (reader) => {
    const out: Record<string, unknown> = {};
    while (!reader.done) out[reader.name()] = reader.value();
    return out;
  });
}

/** `session.serialize_handler = php_serialize`: one serialized array. */
export function decodePhpSerialize(bytes: Buffer): PhpDecoded {
  return decode(bytes, (reader) => {
    const value = reader.value();
    if (!reader.done) throw new Error(`data after the array at byte ${reader.pos}`);
    if (value === null || typeof value !== 'object') throw new Error('not an array');
    return Array.isArray(value) ? { ...value } : (value as Record<string, unknown>);
  });
}

/** `session.serialize_handler = php_binary`: length byte, name, serialized value, repeated. */
export function decodePhpBinary(bytes: Buffer): PhpDecoded {
  return decode(bytes, (reader) => {
    const out: Record<string, unknown> = {};
    while (!reader.done) {
      const { name, unset } = reader.binaryName();
      if (!unset) out[name] = reader.value();
    }
    return out;
  });
}
