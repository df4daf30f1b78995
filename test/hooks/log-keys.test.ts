// What a log call passes reaches the JSON line, whatever its keys are named.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { createLogger, RESERVED_LOG_KEYS } from '../../lib/log';
import { captureOutput } from '../support/capture-output';

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

describe('log attributes', () => {
  it.each(RESERVED_LOG_KEYS)(
    'keeps an attribute named %s that the logger would drop, under <key>Attribute',
    (key) => {
      // Built at run time, as an object from elsewhere would be: the types cannot see the key.
      const attributes: Record<string, unknown> = { [key]: 'from the caller', outcome: 'failed' };

      createLogger({ deploymentId: 'd-TESTDEPL1' }).info('discovered targets', attributes);

      const lines = output.lines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        message: 'discovered targets',
        level: 'INFO',
        [`${key}Attribute`]: 'from the caller',
        outcome: 'failed',
        deploymentId: 'd-TESTDEPL1',
      });
      expect(output.text()).not.toContain('reserved key');
    },
  );

  it('refuses a reserved key at compile time', () => {
    const log = createLogger();
    // @ts-expect-error `message` is the logger's own key
    log.info('verdict', { message: 'x' });
    // @ts-expect-error in a child's attributes too
    log.child({ service: 'web' }).info('verdict');
    expect(output.lines().map((l) => l.messageAttribute ?? l.serviceAttribute)).toEqual(['x', 'web']);
  });
});
