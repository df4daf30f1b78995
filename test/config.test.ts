import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { builtinCheckTypes } from '../checks/registry';
import { loadConfig, parseConfig } from '../config/config';
import { configJsonSchema } from '../config/config-schema';
import { ConfigError } from '../lib/errors';
import { clearRegisteredSecrets, redactText } from '../lib/redact';
import { probeCheckType, scriptedCheckType } from './support/test-check-types';

const checkTypes = [scriptedCheckType, probeCheckType];
const env = { SMOKE_TOKEN: 'tok-123456', EMPTY: '' };
const load = (text: string) => parseConfig(text, { checkTypes, env });

const valid = `
targets:
  test: http://127.0.0.1:8080
  prod: http://127.0.0.1:80
checks:
  smoke:
    type: probe
    requests:
      - path: /health
        expect: { status: 200 }
  flag:
    type: scripted
    behaviour: pass
    advisory: true
hooks:
  AfterAllowTestTraffic: [smoke, flag]
`;

async function configError(text: string): Promise<string> {
  const err = await load(text).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as Error).message;
}

describe('a valid config', () => {
  it('builds the checks of each event in order, with defaults filled in', async () => {
    const config = await load(valid);
    expect(config.plan('AfterAllowTestTraffic').map((p) => [p.check.name, p.advisory])).toEqual([
      ['smoke', false],
      ['flag', true],
    ]);
    expect(config.plan('BeforeAllowTraffic')).toEqual([]);
    expect(config.runner).toEqual({
      concurrency: 8,
      failFast: true,
      reportReserveMs: 10_000,
      noChecks: 'succeed',
    });
    expect(config.targets.prod?.href).toBe('http://127.0.0.1/');
  });

  it('accepts JSON', async () => {
    const json = JSON.stringify({ targets: { test: 'https://green.example:8443' }, checks: {}, hooks: {} });
    const config = await load(json);
    expect(config.targets.test?.port).toBe('8443');
  });

  it('interpolates ${env:NAME} and defaults, leaves ${capture} alone, and redacts secret-looking values', async () => {
    clearRegisteredSecrets();
    const config = await load(`
targets: { test: "\${env:TEST_URL:-http://127.0.0.1:9}" }
checks:
  a: { type: scripted, behaviour: pass, message: "Bearer \${env:SMOKE_TOKEN} then \${token}" }
`);
    expect(config.targets.test?.href).toBe('http://127.0.0.1:9/');
    expect((config.config.checks.a as { message?: string }).message).toBe('Bearer tok-123456 then ${token}');
    expect(redactText('sent tok-123456')).toBe('sent [redacted]');
  });

  it('loads from a file and names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-config-'));
    const file = join(dir, 'greenlight.yml');
    writeFileSync(file, 'targets: { test: 42 }\n');
    await expect(loadConfig(file, { checkTypes })).rejects.toThrow(
      `${file}: targets.test: expected a string, got 42`,
    );
    await expect(loadConfig(join(dir, 'nope.yml'), { checkTypes })).rejects.toThrow(
      `cannot read config ${join(dir, 'nope.yml')}: file not found`,
    );
  });
});

describe('an invalid config names the path and what was expected', () => {
  const base = 'targets: { test: "http://127.0.0.1:8080", prod: "http://127.0.0.1" }\n';
  it.each<[string, string, string]>([
    ['an empty file', '', 'greenlight.yml: targets: required, expected a mapping'],
    ['a list at the top', '- a\n- b\n', 'greenlight.yml: expected a mapping at the top level, got a list'],
    ['invalid YAML', 'targets:\n  test: [unclosed\n', 'greenlight.yml: invalid YAML at line 3, column 1:'],
    [
      'a duplicate key',
      base + 'checks: {}\nchecks: {}\n',
      'greenlight.yml: invalid YAML at line 3, column 1: Map keys must be unique',
    ],
    ['an unknown top-level key', base + 'chekcs: {}\n', 'greenlight.yml: chekcs: unknown key'],
    [
      'a target that is not a URL',
      'targets: { test: "green:8080" }\n',
      'greenlight.yml: targets.test: expected an http(s) URL or "auto", got "green:8080"',
    ],
    [
      'a non-http target',
      'targets: { test: "ftp://x" }\n',
      'greenlight.yml: targets.test: expected an http(s) URL or "auto", got "ftp://x"',
    ],
    [
      'a status that is not an integer',
      base +
        'checks:\n  smoke:\n    type: probe\n    requests:\n      - { path: /a, expect: { status: 200 } }\n      - { path: /b, expect: { status: 200 } }\n      - { path: /c, expect: { status: abc } }\n',
      'greenlight.yml: checks.smoke.requests[2].expect.status: expected an integer 100–599, got "abc"',
    ],
    [
      'a status out of range',
      base + 'checks:\n  smoke: { type: probe, requests: [{ path: /a, expect: { status: 999 } }] }\n',
      'greenlight.yml: checks.smoke.requests[0].expect.status: expected an integer 100–599, got 999',
    ],
    [
      'an empty list where one item is needed',
      base + 'checks:\n  smoke: { type: probe, requests: [] }\n',
      'greenlight.yml: checks.smoke.requests: expected at least 1 item, got a list',
    ],
    [
      'an unknown check type',
      base + 'checks:\n  smoke: { type: htp }\n',
      'greenlight.yml: checks.smoke.type: expected one of "scripted", "probe", got "htp"',
    ],
    [
      'a check without a type',
      base + 'checks:\n  smoke: { behaviour: pass }\n',
      'greenlight.yml: checks.smoke.type: expected one of "scripted", "probe", got nothing',
    ],
    [
      'an unknown check option',
      base + 'checks:\n  a: { type: scripted, behavior: pass }\n',
      'checks.a.behavior: unknown key',
    ],
    [
      'a bad enum value',
      base + 'checks:\n  a: { type: scripted, behaviour: maybe }\n',
      'greenlight.yml: checks.a.behaviour: expected one of "pass", "fail", "error", "inconclusive", "throw", "hang", "hang-ignoring-signal", got "maybe"',
    ],
    [
      'a non-boolean advisory',
      base + 'checks:\n  a: { type: scripted, behaviour: pass, advisory: "yes" }\n',
      'greenlight.yml: checks.a.advisory: expected true or false, got "yes"',
    ],
    [
      'a bad check name',
      base + 'checks:\n  "my check": { type: scripted, behaviour: pass }\n',
      'greenlight.yml: checks["my check"]: expected a check name of letters, digits, "_", "." and "-", got "my check"',
    ],
    [
      'an unknown lifecycle event',
      base + 'hooks:\n  AfterAllowTestTrafic: []\n',
      'greenlight.yml: hooks.AfterAllowTestTrafic: unknown key',
    ],
    [
      'a hook naming an undefined check',
      base +
        'checks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  BeforeAllowTraffic: [smoke, smok]\n',
      'greenlight.yml: hooks.BeforeAllowTraffic[1]: unknown check "smok"; defined checks: smoke',
    ],
    [
      'a check listed twice',
      base +
        'checks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  BeforeAllowTraffic: [smoke, smoke]\n',
      'greenlight.yml: hooks.BeforeAllowTraffic[1]: check "smoke" is listed twice',
    ],
    [
      'a runner setting out of range',
      base + 'runner: { concurrency: 0 }\n',
      'greenlight.yml: runner.concurrency: expected a number ≥ 1, got 0',
    ],
    [
      'a report reserve too small',
      base + 'runner: { reportReserveMs: 10 }\n',
      'greenlight.yml: runner.reportReserveMs: expected a number ≥ 1000, got 10',
    ],
    [
      'an unset environment variable',
      base + 'checks:\n  a: { type: scripted, behaviour: pass, message: "${env:NOPE}" }\n',
      'checks.a.message: environment variable NOPE is not set',
    ],
    [
      'an empty environment variable',
      base + 'checks:\n  a: { type: scripted, behaviour: pass, message: "${env:EMPTY}" }\n',
      'checks.a.message: environment variable EMPTY is not set',
    ],
    [
      'an unknown reference provider',
      base + 'checks:\n  a: { type: scripted, behaviour: pass, message: "${vault:x}" }\n',
      'checks.a.message: unknown reference ${vault:x}; supported: ${env:...}',
    ],
    [
      'an option valid alone but wrong in context',
      base +
        'checks:\n  p: { type: probe, target: staging, requests: [{ path: /, expect: { status: 200 } }] }\n',
      'greenlight.yml: checks.p.target: unknown target "staging"; defined targets: test, prod',
    ],
  ])('%s', async (_name, text, message) => {
    const actual = await configError(text);
    expect(actual).toContain(message);
  });

  it('lists every problem, one per line', async () => {
    const message = await configError('targets: { test: 1 }\nchecks:\n  a: { type: scripted }\n');
    expect(message.split('\n')).toEqual([
      'greenlight.yml: targets.test: expected a string, got 1',
      '  checks.a.behaviour: required, expected one of "pass", "fail", "error", "inconclusive", "throw", "hang", "hang-ignoring-signal"',
    ]);
  });
});

describe('the shipped JSON Schema', () => {
  const shipped = JSON.parse(readFileSync(join(__dirname, '..', 'greenlight.schema.json'), 'utf8'));

  it('is generated from the same definitions that validate the config (run `npm run schema` after a change)', () => {
    expect(shipped).toEqual(configJsonSchema(builtinCheckTypes));
  });

  it('accepts a valid file and rejects unknown keys, as the loader does', () => {
    const validate = new Ajv2020({ strict: false }).compile(configJsonSchema(checkTypes));
    expect(validate(parseYaml(valid))).toBe(true);
    expect(validate({ ...parseYaml(valid), chekcs: {} })).toBe(false);
    expect(validate({ targets: { test: 'http://x' }, checks: { a: { type: 'htp' } } })).toBe(false);
  });
});
