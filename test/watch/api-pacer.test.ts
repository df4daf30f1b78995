import { ApiPacer, MAX_BACKOFF_INTERVALS } from '../../watch/api-pacer';
import { virtualClock } from './support/watch-world';

const INTERVAL_MS = 10_000;

function throttling(): Error {
  const err = new Error('Rate exceeded');
  err.name = 'ThrottlingException';
  return err;
}

/** Calls `api` once per interval for `intervals` intervals; returns the intervals it really ran in. */
async function callEveryInterval(
  pacer: ApiPacer,
  clock: ReturnType<typeof virtualClock>,
  intervals: number,
  fn: () => Promise<unknown>,
) {
  const ran: number[] = [];
  for (let i = 0; i < intervals; i++) {
    const r = await pacer.call('ecs:DescribeServices', async () => {
      ran.push(i);
      return fn();
    });
    if (!r.ok && !r.skipped) expect(r.message).toContain('ThrottlingException');
    await clock.sleep(INTERVAL_MS);
  }
  return ran;
}

describe('ApiPacer', () => {
  it('calls an API at most once per interval', async () => {
    const clock = virtualClock();
    const pacer = new ApiPacer(clock, INTERVAL_MS);
    expect((await pacer.call('ecs:ListTasks', async () => 1)).ok).toBe(true);
    expect(await pacer.call('ecs:ListTasks', async () => 2)).toEqual({ ok: false, skipped: true });
    expect((await pacer.call('ecs:DescribeTasks', async () => 3)).ok).toBe(true); // another API
    await clock.sleep(INTERVAL_MS);
    expect(await pacer.call('ecs:ListTasks', async () => 4)).toEqual({ ok: true, value: 4 });
  });

  it('backs a throttled API off to 2, 4 and at most 8 intervals', async () => {
    const clock = virtualClock();
    const pacer = new ApiPacer(clock, INTERVAL_MS);
    const ran = await callEveryInterval(pacer, clock, 40, () => Promise.reject(throttling()));
    const gaps = ran.slice(1).map((n, i) => n - ran[i]!);
    expect(gaps.slice(0, 4)).toEqual([2, 4, 8, 8]);
    expect(Math.max(...gaps)).toBe(MAX_BACKOFF_INTERVALS);
  });

  it('asks every interval again after one answer that is not throttling', async () => {
    const clock = virtualClock();
    const pacer = new ApiPacer(clock, INTERVAL_MS);
    let calls = 0;
    const ran = await callEveryInterval(pacer, clock, 12, () =>
      ++calls <= 2 ? Promise.reject(throttling()) : Promise.resolve('ok'),
    );
    expect(ran).toEqual([0, 2, 6, 7, 8, 9, 10, 11]);
  });

  it('does not back off for errors other than throttling', async () => {
    const clock = virtualClock();
    const pacer = new ApiPacer(clock, INTERVAL_MS);
    const down = Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailableException' });
    const ran: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await pacer.call('ecs:DescribeServices', async () => {
        ran.push(i);
        throw down;
      });
      expect(r).toMatchObject({
        ok: false,
        skipped: false,
        throttled: false,
        message: 'ServiceUnavailableException: Service Unavailable',
      });
      await clock.sleep(INTERVAL_MS);
    }
    expect(ran).toEqual([0, 1, 2, 3]);
  });
});
