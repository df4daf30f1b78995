import type { Clock } from '../../lib/clock';

/**
 * A clock that only moves when someone sleeps on it: a 30-minute window runs at once. Its
 * "real" time is its own time, so a Lambda budget counted on it runs out as the window goes on.
 */
export class FakeClock implements Clock {
  constructor(private time = Date.UTC(2026, 0, 1, 12, 0, 0)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += Math.max(0, ms);
    await Promise.resolve();
  }
  toRealMs(ms: number): number {
    return ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
  /** A Lambda context with `budgetMs` of this clock's time left from now. */
  context(budgetMs: number, awsRequestId: string) {
    const end = this.time + budgetMs;
    return {
      awsRequestId,
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_bake',
      getRemainingTimeInMillis: () => end - this.time,
    };
  }
}
