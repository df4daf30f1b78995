import { registerSecret, secretNames } from '../../lib/redact';
import { defineCheckType } from '../check-type';
import type { CheckReport } from '../types';
import { HttpClient } from './client';
import { pathIgnorer } from './diff';
import type { FlowOptions } from './flow-types';
import { compileJsonSchema } from './json-schema';
import { httpOptions } from './options';
import { redactReport } from './report-details';
import { runDiff } from './run-diff';
import { runRepeated } from './run-repeated';
import { flowVariableProblems } from './variables';

/**
 * `http`: smoke tests against the test listener. Requests with assertions, captures and a
 * cookie jar; retries for transient failures inside the hook deadline; an optional readiness
 * wait; and a blue/green diff of the same requests.
 */
export const httpCheckType = defineCheckType({
  type: 'http',
  summary:
    'Smoke-test green on the test listener: requests, assertions, captures, retries, and a blue/green diff.',
  options: httpOptions,
  create(options, factory) {
    const targets = new Set(factory.targets);
    const needTarget = (name: string, path: string) => {
      if (!targets.has(name))
        throw factory.fail(path, `unknown target "${name}"; defined targets: ${[...targets].join(', ')}`);
    };
    if (options.target !== undefined) needTarget(options.target, 'target');
    options.requests.forEach((step, i) => {
      if (step.target !== undefined) needTarget(step.target, `requests[${i}].target`);
      if (step.expect?.schema) {
        try {
          compileJsonSchema(step.expect.schema);
        } catch (err) {
          throw factory.fail(
            `requests[${i}].expect.schema`,
            `invalid JSON Schema: ${(err as Error).message}`,
          );
        }
      }
    });
    if (options.diff) {
      needTarget(options.diff.baseline, 'diff.baseline');
      needTarget(options.diff.candidate, 'diff.candidate');
      options.requests.forEach((step, i) => {
        if (step.url !== undefined)
          throw factory.fail(
            `requests[${i}].url`,
            'a diff sends each request to both targets: use path, not an absolute url',
          );
      });
    }
    const problems = flowVariableProblems(options.requests, [], options.concurrency > 1);
    if (problems[0]) throw factory.fail(problems[0].path, problems[0].message);

    // Values written in the config for secret headers are known now: redact them from the start.
    const secretHeaders = secretNames(options.secretHeaders);
    const registerStatic = (headers: Record<string, string> | undefined) => {
      for (const [name, value] of Object.entries(headers ?? {})) {
        if (secretHeaders.has(name) && !value.includes('${')) registerSecret(value);
      }
    };
    registerStatic(options.headers);
    for (const step of options.requests) registerStatic(step.headers);

    const ignore = pathIgnorer(options.diff?.ignore ?? []);

    return {
      name: factory.name,
      type: 'http',
      async run(ctx): Promise<CheckReport> {
        const http = new HttpClient();
        const common: FlowOptions = {
          targets: ctx.targets,
          signal: ctx.signal,
          deadline: ctx.deadline,
          client: options,
          concurrency: options.concurrency,
          http,
          log: ctx.log.child({ check: factory.name }),
          // Only a diff compares responses after the flow: otherwise each body goes once judged.
          keepResponses: options.diff !== undefined,
          // A body that never ends must not pass as a truncated one.
          readToEnd: true,
        };
        if (options.target !== undefined) common.target = options.target;
        try {
          const report = options.diff
            ? await runDiff(options, common, ignore, secretHeaders)
            : await runRepeated(options, common);
          return redactReport(report);
        } finally {
          await http.close();
        }
      },
    };
  },
});
