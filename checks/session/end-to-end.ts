import { z } from 'zod';
import { clientOptionFields, requestStepSchema, type ClientOptions, type RequestStep } from '../http/step';
import type { Assertion, CheckContext, Outcome } from '../types';

/**
 * The end-to-end part of the `session` check (R13): log in on one version, replay the session
 * cookie on the other, and expect to still be authenticated. Requests, expectations and cookies
 * go through the `http` check's flow code, loaded when it runs.
 */
export const endToEndSchema = z.strictObject({
  login: z
    .array(requestStepSchema)
    .min(1)
    .describe(
      'Requests that create a session (e.g. POST /login with credentials from ${env:...}); must pass.',
    ),
  authenticated: z
    .array(requestStepSchema)
    .min(1)
    .describe('Requests that must pass with the session cookie (e.g. GET /me expecting 200).'),
  cookieName: z
    .string()
    .min(1)
    .optional()
    .describe('The session cookie; default: the writing version’s contract cookieName.'),
  blueTarget: z
    .string()
    .default('prod')
    .describe('Where blue answers (the production listener before the shift).'),
  greenTarget: z.string().default('test').describe('Where green answers (the test listener).'),
  directions: z
    .array(z.enum(['blue→green', 'green→blue']))
    .min(1)
    .default(['blue→green', 'green→blue'])
    .describe('Which crossings to try; both by default.'),
  ...clientOptionFields,
});

export type EndToEndOptions = z.output<typeof endToEndSchema>;

export interface EndToEndResult {
  outcome: Outcome;
  summary: string;
  assertions: Assertion[];
}

function clientOf(options: EndToEndOptions): ClientOptions {
  const {
    login: _login,
    authenticated: _auth,
    cookieName: _cookie,
    blueTarget: _b,
    greenTarget: _g,
    directions: _d,
    ...client
  } = options;
  return client;
}

/** Runs one crossing: a session written through `writer`, used through `reader`. */
async function crossing(
  options: EndToEndOptions,
  direction: 'blue→green' | 'green→blue',
  cookieName: string,
  ctx: CheckContext,
  blueLoginWorked: boolean,
): Promise<EndToEndResult & { loggedIn: boolean }> {
  const [writer, reader] =
    direction === 'blue→green' ? (['blue', 'green'] as const) : (['green', 'blue'] as const);
  const writerTarget = writer === 'blue' ? options.blueTarget : options.greenTarget;
  const readerTarget = reader === 'blue' ? options.blueTarget : options.greenTarget;
  const [{ CookieJar }, { runFlow }] = await Promise.all([
    import('../http/cookie-jar'),
    import('../http/flow'),
  ]);
  const client = clientOf(options);
  const common = { targets: ctx.targets, signal: ctx.signal, deadline: ctx.deadline, client, log: ctx.log };

  const writerJar = new CookieJar();
  const login = await runFlow(options.login as RequestStep[], {
    ...common,
    overrideTarget: writerTarget,
    jar: writerJar,
  });
  if (login.outcome !== 'passed') {
    // Blue failing to log in says nothing about green: that is "could not tell". Green failing is
    // green's fault only when the same login just worked on blue (else the credentials may be wrong).
    const greensFault = writer === 'green' && blueLoginWorked;
    const outcome: Outcome = login.outcome === 'failed' && !greensFault ? 'error' : login.outcome;
    return {
      loggedIn: false,
      outcome,
      summary: `end to end ${direction}: could not create a session on ${writer} (${writerTarget}): ${login.message}`,
      assertions: login.assertions,
    };
  }
  const writerUrl = new URL(login.steps[login.steps.length - 1]!.url);
  const value = writerJar.get(cookieName, writerUrl);
  const cookieSet: Assertion = {
    what: `end to end ${direction}: ${writer} sets cookie ${cookieName}`,
    expected: 'set',
    actual: value === undefined ? 'not set' : 'set',
    ok: value !== undefined,
  };
  if (value === undefined) {
    const outcome: Outcome = writer === 'blue' ? 'error' : 'failed';
    const others = writerJar.list().map((c) => c.name);
    return {
      loggedIn: true,
      outcome,
      summary: `end to end ${direction}: login on ${writer} set no cookie ${JSON.stringify(cookieName)}${others.length ? ` (set: ${others.join(', ')})` : ''}`,
      assertions: [...login.assertions, cookieSet],
    };
  }

  // A browser keeps the cookie across the shift: replay exactly that one cookie to the reader.
  const readerJar = new CookieJar();
  const readerBase = ctx.targets[readerTarget];
  if (readerBase) readerJar.set(readerBase, cookieName, value);
  const used = await runFlow(options.authenticated as RequestStep[], {
    ...common,
    overrideTarget: readerTarget,
    jar: readerJar,
  });
  const assertions = [...login.assertions, cookieSet, ...used.assertions];
  if (used.outcome === 'passed') {
    return {
      loggedIn: true,
      outcome: 'passed',
      summary: `end to end ${direction}: a session created on ${writer} is accepted by ${reader}`,
      assertions,
    };
  }
  return {
    loggedIn: true,
    outcome: used.outcome,
    summary: `end to end ${direction}: a session created on ${writer} (${writerTarget}) is not accepted by ${reader} (${readerTarget}): ${used.message}`,
    assertions,
  };
}

/** Runs the configured crossings in order; each gets a fresh login. */
export async function runEndToEnd(
  options: EndToEndOptions,
  cookieNames: { blue?: string; green?: string },
  ctx: CheckContext,
): Promise<EndToEndResult[]> {
  const results: EndToEndResult[] = [];
  let blueLoginWorked = false;
  for (const direction of options.directions) {
    const writer = direction === 'blue→green' ? 'blue' : 'green';
    const cookieName = options.cookieName ?? cookieNames[writer];
    if (!cookieName) {
      results.push({
        outcome: 'error',
        summary: `end to end ${direction}: no cookie name (set endToEnd.cookieName or configure contracts)`,
        assertions: [],
      });
      continue;
    }
    const { loggedIn, ...result } = await crossing(options, direction, cookieName, ctx, blueLoginWorked);
    if (writer === 'blue' && loggedIn) blueLoginWorked = true;
    results.push(result);
  }
  return results;
}

/** GETs a JSON document from a target through the same flow code (contracts served by the apps). */
export async function fetchJsonFromTarget(
  source: { target: string; path: string },
  ctx: CheckContext,
): Promise<unknown> {
  const { runFlow } = await import('../http/flow');
  const flow = await runFlow(
    [requestStepSchema.parse({ path: source.path, target: source.target, expect: { status: 200 } })],
    {
      targets: ctx.targets,
      signal: ctx.signal,
      deadline: ctx.deadline,
      log: ctx.log,
    },
  );
  if (flow.outcome !== 'passed') throw new Error(flow.message);
  const response = flow.steps[0]!.response!;
  if (response.truncated)
    throw new Error(`${flow.steps[0]!.url} answered more than ${response.body.length} bytes`);
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new Error(`${flow.steps[0]!.url} did not answer JSON`);
  }
}
