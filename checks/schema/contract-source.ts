import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { httpUrl } from '../../lib/http-url';
import { ConfigError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { redactText } from '../../lib/redact';
import { parseContract, schemaContract, type SchemaContract } from './contract';

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
  /** Epoch ms: no attempt or retry starts that could not finish by then. */
  deadline?: number;
  /** For a fetch, and its retries together. */
  timeoutMs?: number;
  maxBytes?: number;
  log?: Logger;
}

export interface LoadedContract {
  contract: SchemaContract;
  /** `file contracts/blue.json`, `GET http://.../contract.json`, `inline`. */
  from: string;
}

/** The contract could not be fetched or read (as opposed to being invalid, a ConfigError). */
export class ContractUnavailableError extends Error {
  /** The status a served contract was answered with, when that was not 200. */
  readonly statusCode: number | undefined;

  constructor(message: string, options?: ErrorOptions & { statusCode?: number | undefined }) {
    super(redactText(message), options);
    this.name = 'ContractUnavailableError';
    this.statusCode = options?.statusCode;
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
      throw new ContractUnavailableError(`cannot read contract ${from}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return { contract: parseContract(parseJson(text, from), from), from };
  }
  const url = contractUrl(source, options.targets);
  if (!url) throw new ConfigError(`unknown target "${source.target}"`);
  const from = `GET ${redactText(url.href)}`;
  const text = await fetchText(url, options);
  return { contract: parseContract(parseJson(text, from), from), from };
}

function parseJson(text: string, from: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`contract ${from} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * GETs a contract through the `http` check's flow code: TLS verified, the body capped at
 * `maxBytes`, transient failures retried, and everything, retries included, within `timeoutMs`.
 */
async function fetchText(url: URL, options: LoadContractOptions): Promise<string> {
  const [{ runFlow }, { clientOptionsSchema, requestStepSchema }, { formatMs }] = await Promise.all([
    import('../http/flow'),
    import('../http/step'),
    import('../http/format-ms'),
  ]);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONTRACT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_CONTRACT_MAX_BYTES;
  const step = requestStepSchema.parse({
    url: url.href,
    headers: { accept: 'application/json' },
    expect: { status: 200 },
  });
  const flow = await runFlow([step], {
    targets: options.targets,
    signal: options.signal,
    deadline: Math.min(options.deadline ?? Infinity, Date.now() + timeoutMs),
    client: clientOptionsSchema.parse({ requestTimeoutMs: timeoutMs, maxBodyBytes: maxBytes }),
    log: options.log,
  });
  const result = flow.steps[0]!;
  if (flow.outcome !== 'passed') {
    throw new ContractUnavailableError(flow.message, { statusCode: result.status });
  }
  const response = result.response!;
  if (response.truncated) {
    const declared = Number(response.headers['content-length']);
    const why =
      Number.isFinite(declared) && declared > maxBytes
        ? `declared ${declared} bytes, more than the ${maxBytes}-byte limit`
        : `sent more than the ${maxBytes}-byte limit`;
    throw new ContractUnavailableError(`GET ${result.url} ${why} (${formatMs(result.durationMs)})`);
  }
  return response.body.toString('utf8');
}
