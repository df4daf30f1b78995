import { z } from 'zod';
import { defineCheckType } from '../../checks/check-type';

/**
 * Check types whose behaviour a test chooses from the config: they stand for real checks when a
 * test is about the runner or the hook adapter rather than about what a check measures.
 */
export const scriptedCheckType = defineCheckType({
  type: 'scripted',
  summary: 'Does what its options say: pass, fail, throw or hang (test only).',
  options: z.strictObject({
    behaviour: z.enum(['pass', 'fail', 'error', 'inconclusive', 'throw', 'hang', 'hang-ignoring-signal']),
    delayMs: z.int().min(0).default(0),
    message: z.string().optional(),
  }),
  create: (options, ctx) => ({
    name: ctx.name,
    type: 'scripted',
    async run({ signal }) {
      if (options.delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, options.delayMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        });
      }
      switch (options.behaviour) {
        case 'pass':
          return {
            outcome: 'passed',
            message: options.message ?? 'ok',
            assertions: [{ what: 'status', expected: 200, actual: 200, ok: true }],
          };
        case 'fail':
          return {
            outcome: 'failed',
            message: options.message ?? 'GET /health returned 503, expected 200',
            assertions: [{ what: 'status', expected: 200, actual: 503, ok: false }],
          };
        case 'error':
          return { outcome: 'error', message: options.message ?? 'could not tell' };
        case 'inconclusive':
          return { outcome: 'inconclusive', message: options.message ?? 'no data' };
        case 'throw':
          throw new Error(options.message ?? 'boom');
        case 'hang':
          return new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          );
        case 'hang-ignoring-signal':
          return new Promise(() => {});
      }
    },
  }),
});

/** A check type with nested options, so config tests can show deep error paths. */
export const probeCheckType = defineCheckType({
  type: 'probe',
  summary: 'Nested options for config validation tests (test only).',
  options: z.strictObject({
    target: z.string().default('test'),
    requests: z
      .array(
        z.strictObject({
          path: z.string().startsWith('/', { error: 'expected a path starting with "/"' }),
          expect: z.strictObject({
            status: z
              .int({ error: 'expected an integer 100–599' })
              .min(100, { error: 'expected an integer 100–599' })
              .max(599, { error: 'expected an integer 100–599' }),
          }),
        }),
      )
      .min(1),
  }),
  create: (options, ctx) => {
    if (!ctx.targets.includes(options.target)) {
      throw ctx.fail(
        'target',
        `unknown target "${options.target}"; defined targets: ${ctx.targets.join(', ')}`,
      );
    }
    return { name: ctx.name, type: 'probe', run: async () => ({ outcome: 'passed', message: 'ok' }) };
  },
});
