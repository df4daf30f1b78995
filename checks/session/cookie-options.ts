import { z } from 'zod';
import { clientOptionFields, requestStepSchema } from '../http/step';
import type { Outcome } from '../types';
import { cookieFrameworks, FRAMEWORK_NAMES } from './frameworks';
import type { CookieFramework } from './frameworks/framework';
import { keyListSchema } from './keys';

/** Where a version's session cookie is sampled from: requests through the http check's flow code. */
export const cookieSampleSchema = z.strictObject({
  requests: z
    .array(requestStepSchema)
    .min(1)
    .default([requestStepSchema.parse({ path: '/' })])
    .describe('Requests that make each version set its session cookie (default: GET /).'),
  blueTarget: z.string().default('prod').describe('Where blue answers.'),
  greenTarget: z.string().default('test').describe('Where green answers.'),
  ...clientOptionFields,
});

/**
 * The `cookies` option of the `session` check: the framework, each version's keys (values, from
 * secret references), and where to sample a real cookie from each version.
 */
export const cookiesSchema = z.strictObject({
  framework: z.enum(FRAMEWORK_NAMES).describe('The session framework that writes the cookie.'),
  cookieName: z
    .string()
    .min(1)
    .optional()
    .describe('The session cookie; default: the framework’s (connect.sid, session, sessionid, SESSION).'),
  keys: z
    .strictObject({ blue: keyListSchema, green: keyListSchema })
    .optional()
    .describe('Each version’s keys, signing key first, then the ones it still accepts.'),
  storeKeyPrefix: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Prefix of a session’s key in the store, followed by the cookie’s session id: each sampled cookie must name a stored session (default for spring: `spring:session:sessions:`).',
    ),
  salt: z.string().min(1).optional().describe('Django’s or Flask’s salt, when the app changed it.'),
  keyDigest: z
    .enum(['sha1', 'sha256'])
    .optional()
    .describe('Rails’ key generator digest: sha1 (up to 6.1 defaults, the default) or sha256 (7.0).'),
  sample: z
    .union([z.literal(false), cookieSampleSchema])
    .default(() => cookieSampleSchema.parse({}))
    .describe('Sample each version’s cookie and verify it with the other’s keys; or false.'),
  readerSchemas: z
    .strictObject({
      blue: z.record(z.string(), z.unknown()).optional(),
      green: z.record(z.string(), z.unknown()).optional(),
    })
    .optional()
    .describe('JSON Schemas a decoded cookie session must satisfy for each version to accept it.'),
});

export type CookiesOptions = z.output<typeof cookiesSchema>;

export function frameworkOf(options: CookiesOptions): CookieFramework {
  return cookieFrameworks[options.framework]!;
}

/** The session cookie's name: as configured, else the framework's default. */
export function cookieNameOf(options: CookiesOptions): string {
  return options.cookieName ?? frameworkOf(options).defaultCookieName ?? 'session';
}

/** The store key prefix of a framework's sessions, when known: the configured one, else Spring's. */
export function storeKeyPrefixOf(options: CookiesOptions): string | undefined {
  return options.storeKeyPrefix ?? (options.framework === 'spring' ? 'spring:session:sessions:' : undefined);
}

/** What sampling one version's cookie gave: its cookies by name, or why there are none. */
export type SampledCookies =
  | { ok: true; cookie: (name: string) => string | undefined; where: string }
  | { ok: false; outcome: Outcome; reason: string };

/**
 * Checks what the schema cannot: the keys a framework needs, settings only some frameworks have,
 * and the sample's targets. Runs when the check is created, never halfway through a deployment.
 */
export function validateCookies(
  cookies: CookiesOptions,
  targets: readonly string[],
  fail: (path: string, message: string) => Error,
): void {
  const framework = frameworkOf(cookies);
  if (framework.signed && !cookies.keys)
    throw fail('cookies.keys', `${framework.name} signs its cookies: expected the blue and green keys`);
  if (!framework.signed && cookies.keys)
    throw fail('cookies.keys', `${framework.name} does not sign its cookie: remove keys`);
  if (!framework.defaultCookieName && !cookies.cookieName)
    throw fail('cookies.cookieName', `expected the session cookie's name (${framework.name} has no default)`);
  if (cookies.salt !== undefined && framework.name !== 'django' && framework.name !== 'flask')
    throw fail('cookies.salt', 'only django and flask have a salt');
  if (cookies.keyDigest !== undefined && framework.name !== 'rails')
    throw fail('cookies.keyDigest', 'only rails derives its keys with a digest');
  if (cookies.storeKeyPrefix !== undefined && framework.cookieOnly)
    throw fail(
      'cookies.storeKeyPrefix',
      `${framework.name} keeps the session in the cookie: remove storeKeyPrefix`,
    );
  if (cookies.readerSchemas && !framework.cookieOnly)
    throw fail(
      'cookies.readerSchemas',
      `${framework.name} keeps the session in the store: use contracts' readerSchema`,
    );
  if (cookies.sample) {
    for (const field of ['blueTarget', 'greenTarget'] as const) {
      const target = cookies.sample[field];
      if (!targets.includes(target))
        throw fail(
          `cookies.sample.${field}`,
          `unknown target "${target}"; defined targets: ${targets.join(', ')}`,
        );
    }
  }
}
