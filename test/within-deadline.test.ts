import { withinDeadline } from '../lib/within-deadline';

const never = () => new Promise<never>(() => {});

describe('withinDeadline', () => {
  it('resolves with the work when it settles first, leaving no listener on the signal', async () => {
    const controller = new AbortController();
    const removed = jest.spyOn(controller.signal, 'removeEventListener');

    const value = await withinDeadline(Promise.resolve(42), { signal: controller.signal, timeoutMs: 1_000 });

    expect(value).toBe(42);
    expect(removed).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('rejects with the timeout error without waiting for the work', async () => {
    const started = performance.now();

    const outcome = withinDeadline(never(), { timeoutMs: 20, timeoutError: () => new Error('too slow') });

    await expect(outcome).rejects.toThrow('too slow');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects with the signal reason when it fires, after running onAbort', async () => {
    const controller = new AbortController();
    const dropped: string[] = [];

    const outcome = withinDeadline(never(), {
      signal: controller.signal,
      onAbort: () => dropped.push('socket'),
    });
    controller.abort(new Error('verdict decided'));

    await expect(outcome).rejects.toThrow('verdict decided');
    expect(dropped).toEqual(['socket']);
  });

  it('rejects at once on a signal that has already fired, and ignores the work failing later', async () => {
    const controller = new AbortController();
    controller.abort('stopped');
    let fail: (err: Error) => void = () => {};
    const work = new Promise<never>((_, reject) => (fail = reject));

    const outcome = withinDeadline(work, {
      signal: controller.signal,
      abortError: (reason) => new Error(`stopped: ${String(reason)}`),
    });
    fail(new Error('late'));

    await expect(outcome).rejects.toThrow('stopped: stopped');
  });
});
