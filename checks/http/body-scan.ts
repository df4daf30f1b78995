import { StringDecoder } from 'node:string_decoder';

/** Bytes shown before a piece found in a scanned body (as `notContains` evidence shows them). */
export const CONTEXT_BEFORE = 40;
/** Bytes kept after the start of a piece found, for the same evidence. */
const CONTEXT_AFTER = 200;
const EMPTY = Buffer.alloc(0);

/**
 * Looks for pieces of text in a body as it streams by, so a body that is only searched never has
 * to be held whole: a request whose body is checked for `contains`/`notContains` (or not at all)
 * costs a few KiB however big the answer, instead of the answer's size.
 *
 * The pieces are searched as UTF-8 bytes, which finds what `text.includes(piece)` finds on the
 * decoded body for any piece without U+FFFD or a lone surrogate (the caller keeps such pieces to
 * whole bodies). The last bytes of each chunk are carried into the next, so a piece split across
 * chunks is found, and the text around each piece's first occurrence is kept for evidence.
 */
export class BodyScanner {
  private readonly needles: Buffer[];
  /** Per piece: the text from a little before its first occurrence, or null while not seen. */
  private readonly contexts: Array<string | null>;
  private missing: number;
  /** The end of what was scanned: long enough to hold a split piece and the context before it. */
  private tail: Buffer = EMPTY;
  private readonly tailBytes: number;
  /** Found pieces whose context still needs bytes after them: piece index, bytes so far, bytes wanted. */
  private pending: Array<{ piece: number; context: Buffer; wanted: number }> = [];

  constructor(readonly pieces: readonly string[]) {
    this.needles = pieces.map((piece) => Buffer.from(piece, 'utf8'));
    // An empty piece is in every body, as ''.includes('') says.
    this.contexts = this.needles.map((needle) => (needle.length === 0 ? '' : null));
    this.missing = this.contexts.filter((context) => context === null).length;
    const longest = Math.max(0, ...this.needles.map((n) => n.length));
    this.tailBytes = Math.max(0, longest - 1) + CONTEXT_BEFORE;
  }

  /** Scans the next chunk of the body. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.pending.length) this.extendPending(chunk);
    if (this.missing === 0) return;
    const tail = this.tail;
    for (let i = 0; i < this.needles.length; i++) {
      if (this.contexts[i] !== null) continue;
      const needle = this.needles[i]!;
      const at = this.find(needle, tail, chunk);
      if (at < 0) continue;
      this.missing--;
      // `at` counts from the start of the tail; the context is cut from tail + chunk around it.
      const from = Math.max(0, at - CONTEXT_BEFORE);
      const to = at + CONTEXT_AFTER;
      const context = joinRange(tail, chunk, from, to);
      this.contexts[i] = '';
      if (to > tail.length + chunk.length) this.pending.push({ piece: i, context, wanted: to - from });
      else this.contexts[i] = decodeWhole(context);
    }
    this.tail = keepEnd(tail, chunk, this.tailBytes);
  }

  /** Ends the scan: pieces still pending keep the context they have. */
  end(): ReadonlyMap<string, string | null> {
    for (const { piece, context } of this.pending) this.contexts[piece] = decodeWhole(context);
    this.pending = [];
    const found = new Map<string, string | null>();
    this.pieces.forEach((piece, i) => found.set(piece, this.contexts[i]!));
    return found;
  }

  /**
   * Where `needle` first occurs in tail + chunk (an offset from the tail's start), or -1. Only
   * the bytes around the seam are copied; the chunk itself is searched where it lies.
   */
  private find(needle: Buffer, tail: Buffer, chunk: Buffer): number {
    if (tail.length) {
      const seamFrom = Math.max(0, tail.length - (needle.length - 1));
      const seam = Buffer.concat([tail.subarray(seamFrom), chunk.subarray(0, needle.length - 1)]);
      const inSeam = seam.indexOf(needle);
      if (inSeam >= 0) return seamFrom + inSeam;
    }
    const inChunk = chunk.indexOf(needle);
    return inChunk < 0 ? -1 : tail.length + inChunk;
  }

  private extendPending(chunk: Buffer): void {
    const still: typeof this.pending = [];
    for (const entry of this.pending) {
      const context = Buffer.concat([entry.context, chunk.subarray(0, entry.wanted - entry.context.length)]);
      if (context.length < entry.wanted) still.push({ ...entry, context });
      else this.contexts[entry.piece] = decodeWhole(context);
    }
    this.pending = still;
  }
}

/** Bytes [from, to) of a followed by b, copied (to is clipped to the end of b). */
function joinRange(a: Buffer, b: Buffer, from: number, to: number): Buffer {
  const end = Math.min(to, a.length + b.length);
  if (from >= a.length) return Buffer.from(b.subarray(from - a.length, end - a.length));
  return Buffer.concat([
    a.subarray(from, Math.min(end, a.length)),
    b.subarray(0, Math.max(0, end - a.length)),
  ]);
}

/** The last `bytes` of a followed by b, as a copy (the chunk's buffer may be reused). */
function keepEnd(a: Buffer, b: Buffer, bytes: number): Buffer {
  if (bytes === 0) return EMPTY;
  const total = a.length + b.length;
  return joinRange(a, b, Math.max(0, total - bytes), total);
}

/** Decodes bytes cut from the middle of a text: a character cut at either end is left out. */
function decodeWhole(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length && start < 3 && (bytes[start]! & 0xc0) === 0x80) start++;
  return new StringDecoder('utf8').write(bytes.subarray(start));
}
