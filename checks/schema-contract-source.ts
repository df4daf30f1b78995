import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { httpUrl } from '../lib/config-schema';
import { ConfigError } from '../lib/errors';
import { redactText } from '../lib/redact';
import { describeError } from './schema-connection';
import { parseContract, schemaContract, type SchemaContract } from './schema-contract';

export const DEFAULT_CONTRACT_PATH = '/.well-known/greenlight/contract.json';
export const DEFAULT_CONTRACT_TIMEOUT_MS = 5_000;
export const DEFAULT_CONTRACT_MAX_BYTES = 1_048_576;

/** Where a version's contract comes from: a file, the config itself, a URL, or a path on a target. */
export const contractSource = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe('A JSON file, relative to the working directory (the bundle root in Lambda).'),
    url: httpUrl.optional().describe('An http(s) URL serving the contract as JSON.'),
    target: z
      .string()
      .min(1)
      .optional()
      .describe('Fetch from this target: `test` serves green’s contract, `prod` blue’s.'),
    path: z
      .string()
      .startsWith('/', { error: 'expected a path starting with "/"' })
      .optional()
      .describe(`Path on the target (default ${DEFAULT_CONTRACT_PATH}).`),
    inline: schemaContract.optional().describe('The contract itself, validated with the config.'),
    optional: z
      .boolean()
      .default(false)
      .describe(
        'A 404 from this source means "this version has no contract": it is then not checked, and the message says so.',
      ),
  })
  .superRefine((value, ctx) => {
    const given = (['file', 'url', 'target', 'inline'] as const).filter((k) => value[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of file, url, target or inline${given.length ? `, got ${given.join(' and ')}` : ''}`,
      });
    }
    if (value.path !== undefined && value.target === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'path only goes with target (use url for a full address)',
      });
    }
  });

export type ContractSource = z.output<typeof contractSource>;

export interface LoadContractOptions {
  targets: Readonly<Record<string, URL>>;
  signal: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
}

export interface LoadedContract {
  contract: SchemaContract;
  /** `file contracts/blue.json`, `GET http://.../contract.json`, `inline`. */
  from: string;
}

/** The contract could not be fetched or read (as opposed to being invalid, a ConfigError). */
export class ContractUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(redactText(message), options);
    this.name = 'ContractUnavailableError';
  }
}

/** The address a URL or target source resolves to. */
export function contractUrl(source: ContractSource, targets: Readonly<Record<string, URL>>): URL | undefined {
  if (source.url) return new URL(source.url);
  if (source.target) {
    const base = targets[source.target];
    if (!base) return undefined;
    return new URL(source.path ?? DEFAULT_CONTRACT_PATH, base);
  }
  return undefined;
}

/**
 * Loads and validates one contract. An unreachable or oversized source throws
 * ContractUnavailableError; a document that does not validate throws ConfigError naming the
 * path inside the contract and what was expected.
 */
export async function loadContract(
  source: ContractSource,
  options: LoadContractOptions,
): Promise<LoadedContract> {
  if (source.inline) return { contract: source.inline, from: 'inline' };
  if (source.file) {
    const from = `file ${source.file}`;
    let text: string;
    try {
      text = await readFile(resolve(source.file), { encoding: 'utf8', signal: options.signal });
    } catch (err) {
      throw new ContractUnavailableError(`cannot read contract ${from}: ${describeError(err)}`, {
        cause: err,
      });
    }
    return { contract: parseContract(parseJson(text, from), from), from };
  }
  const url = contractUrl(source, options.targets);
  if (!url) throw new ConfigError(`unknown target "${source.target}"`);
  const from = `GET ${url.href}`;
  const text = await fetchText(url, options);
  return { contract: parseContract(parseJson(text, from), from), from };
}

function parseJson(text: string, from: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`contract ${from} is not valid JSON: ${describeError(err)}`, { cause: err });
  }
}

async function fetchText(url: URL, options: LoadContractOptions): Promise<string> {
  const { request } = await import('undici');
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONTRACT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_CONTRACT_MAX_BYTES;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  const fail = (why: string, cause?: unknown) =>
    new ContractUnavailableError(`GET ${url.href} ${why} (${elapsed()})`, { cause });
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (err) {
    throw fail(timeout.aborted ? `timed out after ${timeoutMs} ms` : `failed: ${describeError(err)}`, err);
  }
  const { statusCode, headers, body } = response;
  body.on('error', () => {}); // an abandoned body reports its abort here; the reason is already ours
  if (statusCode !== 200) {
    body.destroy();
    throw Object.assign(fail(`returned ${statusCode}, expected 200`), { statusCode });
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw fail(`declared ${declared} bytes, more than the ${maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw fail(`sent more than the ${maxBytes}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ContractUnavailableError) throw err;
    throw fail(
      timeout.aborted ? `body did not arrive within ${timeoutMs} ms` : `body failed: ${describeError(err)}`,
      err,
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}
