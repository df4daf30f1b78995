/**
 * Captures what the process writes to stdout and stderr (Powertools writes JSON lines straight
 * to the streams), without echoing it. `lines()` parses the JSON lines; `text()` is everything raw.
 */
export function captureOutput() {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write),
  );
  return {
    text: () => chunks.join(''),
    lines: (): Array<Record<string, unknown>> =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    clear: () => {
      chunks.length = 0;
    },
    restore: () => spies.forEach((s) => s.mockRestore()),
  };
}
