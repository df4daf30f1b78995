import { BodyScanner } from '../../checks/http/body-scan';

/** Feeds `body` to a scanner in chunks of `size` bytes (the last one shorter). */
function scanInChunks(pieces: string[], body: Buffer, size: number): ReadonlyMap<string, string | null> {
  const scanner = new BodyScanner(pieces);
  for (let at = 0; at < body.length; at += size) scanner.write(body.subarray(at, at + size));
  return scanner.end();
}

/** What a scan should find: the text from 40 bytes before the first occurrence, as whole characters. */
function expectedContext(body: Buffer, piece: string): string | null {
  const at = body.indexOf(piece);
  if (at < 0) return null;
  return body
    .subarray(Math.max(0, at - 40), at + 200)
    .toString('utf8')
    .replace(/^\uFFFD+|\uFFFD+$/g, '');
}

describe('BodyScanner', () => {
  // Multi-byte characters everywhere, so that chunk edges fall inside characters.
  const body = Buffer.from(
    `${'é€ ab '.repeat(30)}FIRST-needle ${'😀 filler '.repeat(40)}second 🔑 key ${'z'.repeat(50)}FIRST-needle end`,
  );
  const pieces = ['FIRST-needle', 'second 🔑 key', 'end', 'é€ ab é', 'absent piece', 'needle end?'];

  it('finds what text.includes finds, at every chunk size, with the text around the first occurrence', () => {
    const text = body.toString('utf8');
    for (const size of [1, 2, 3, 5, 7, 11, 13, 64, 100, 333, body.length]) {
      const found = scanInChunks(pieces, body, size);
      for (const piece of pieces) {
        expect([size, piece, found.get(piece) !== null]).toEqual([size, piece, text.includes(piece)]);
        expect([size, piece, found.get(piece)]).toEqual([size, piece, expectedContext(body, piece)]);
      }
    }
  });

  it('never shows a character cut in half at either end of the context', () => {
    for (const size of [1, 4, 9, 17]) {
      const context = scanInChunks(['second'], body, size).get('second')!;
      expect(context).not.toContain('\uFFFD');
      expect(context).toContain('second 🔑 key');
      expect(Buffer.byteLength(context)).toBeLessThanOrEqual(240);
    }
  });

  it('finds a piece longer than every chunk and one that ends the body', () => {
    const long = 'a piece much longer than the chunks it arrives in';
    const stream = Buffer.from(`xx${long}yy${long.slice(0, 20)}`);
    const found = scanInChunks([long, long.slice(0, 20), 'yy' + long.slice(0, 20) + '!'], stream, 3);
    expect(found.get(long)).toBe(`xx${long}yy${long.slice(0, 20)}`);
    expect(found.get(long.slice(0, 20))).not.toBeNull();
    expect(found.get('yy' + long.slice(0, 20) + '!')).toBeNull();
  });

  it('answers for an empty body and for an empty piece as includes does', () => {
    const scanner = new BodyScanner(['', 'x']);
    const found = scanner.end();
    expect(found.get('')).toBe('');
    expect(found.get('x')).toBeNull();
    const some = scanInChunks(['', 'x'], Buffer.from('abc'), 2);
    expect(some.get('')).not.toBeNull();
    expect(some.get('x')).toBeNull();
  });
});
