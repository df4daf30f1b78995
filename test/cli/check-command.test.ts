import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { XMLParser } from 'fast-xml-parser';
import { createCheckCommand } from '../../bin/commands/check';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { verdictJsonSchema } from '../../bin/verdict-json';
import { builtinCheckTypes } from '../../checks/registry';
import { scriptedCheckType } from '../support/test-check-types';
import { cliIO, finalScreen, normalise } from './cli-io';
import { expectGolden } from './golden';

const dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// Scripted checks make the outcomes exact; fail-fast is off so every row has its own outcome.
const MIXED = configFile(
  'mixed.yml',
  `targets:
  test: http://127.0.0.1:8080
  prod: http://127.0.0.1:8000
checks:
  smoke: { type: scripted, behaviour: pass, message: GET http://127.0.0.1:8080/health returned 200 }
  schema:
    type: scripted
    behaviour: fail
    message: "blue reads users.display_name, which is missing (dropped or renamed)"
  sessions: { type: scripted, behaviour: error, message: "redis 10.0.0.5:6379: connect ECONNREFUSED" }
  latency: { type: scripted, behaviour: inconclusive, advisory: true, message: no datapoints in the last 5 minutes }
hooks:
  AfterAllowTestTraffic: [smoke, schema, sessions, latency]
  BeforeAllowTraffic: [smoke]
runner: { failFast: false }
`,
);

const command = createCheckCommand({ checkTypes: [scriptedCheckType] });

describe('greenlight check: output', () => {
  beforeEach(() =>
    jest.useFakeTimers({
      now: new Date('2025-01-01T00:00:00Z'),
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    }),
  );
  afterEach(() => jest.useRealTimers());

  it('prints a plain table with the first failing assertion when stdout is not a TTY', async () => {
    const { io, stdout } = cliIO();
    const code = await command.run(['--config', MIXED], io);
    expect(code).toBe(EXIT_FAILED);
    expect(stdout()).not.toMatch(/\x1b\[/);
    expectGolden('check-mixed.plain.txt', normalise(stdout(), { durations: false }));
  });

  it('prints plain text on a TTY when NO_COLOR is set', async () => {
    const plain = cliIO();
    await command.run(['--config', MIXED], plain.io);
    const noColor = cliIO({ tty: true, env: { NO_COLOR: '1' } });
    await command.run(['--config', MIXED], noColor.io);
    expect(noColor.stdout()).toBe(plain.stdout());
  });

  it('draws colour and live progress on a TTY, then leaves only the table on screen', async () => {
    const { io, stdout } = cliIO({ tty: true, columns: 100 });
    const code = await command.run(['--config', MIXED], io);
    expect(code).toBe(EXIT_FAILED);
    const raw = stdout();
    expect(raw).toMatch(/\x1b\[\d+A/); // the progress block was redrawn in place
    expect(raw).toContain('waiting');
    expectGolden('check-mixed.tty.txt', normalise(finalScreen(raw), { durations: false }));
  });

  it('cuts long evidence to the terminal width on a TTY but never in plain output', async () => {
    const tty = cliIO({ tty: true, columns: 52, env: { NO_COLOR: '' } });
    await command.run(['--config', MIXED, '--only', 'schema'], tty.io);
    const row = finalScreen(tty.stdout())
      .split('\n')
      .find((l) => l.includes('schema') && l.includes('failed'))!;
    expect(row.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(52);
    expect(row).toContain('…');
    const plain = cliIO();
    await command.run(['--config', MIXED, '--only', 'schema'], plain.io);
    expect(plain.stdout()).toContain('status: expected 200, actual 503');
  });

  it('prints a succeeded verdict and exits 0 when every gating check passes', async () => {
    const { io, stdout } = cliIO();
    const code = await command.run(['--config', MIXED, '--hook', 'BeforeAllowTraffic'], io);
    expect(code).toBe(EXIT_OK);
    expectGolden('check-passed.plain.txt', normalise(stdout(), { durations: false }));
  });
});

describe('greenlight check: reports', () => {
  it('prints JSON that validates against the published verdict schema', async () => {
    const { io, stdout } = cliIO({ tty: true });
    const code = await command.run(['--config', MIXED, '--json'], io);
    expect(code).toBe(EXIT_FAILED);
    expect(stdout()).not.toMatch(/\x1b\[/); // no progress frames mixed into JSON
    const doc = JSON.parse(stdout());
    const validate = new Ajv2020({ strict: false }).compile(verdictJsonSchema());
    expect(validate.errors ?? validate(doc)).toBe(true);
    expect(doc).toMatchObject({
      hook: 'AfterAllowTestTraffic',
      status: 'Failed',
      outcome: 'failed',
      targets: { test: 'http://127.0.0.1:8080/', prod: 'http://127.0.0.1:8000/' },
    });
    expect(doc.checks.map((c: { name: string; outcome: string }) => `${c.name}:${c.outcome}`)).toEqual([
      'smoke:passed',
      'schema:failed',
      'sessions:error',
      'latency:inconclusive',
    ]);
    expect(doc.checks[1].assertions).toEqual([{ what: 'status', expected: 200, actual: 503, ok: false }]);
  });

  it('rejects a document the schema does not describe (the schema is not vacuous)', () => {
    const validate = new Ajv2020({ strict: false }).compile(verdictJsonSchema());
    expect(
      validate({
        hook: 'AfterAllowTestTraffic',
        status: 'Maybe',
        outcome: 'passed',
        reason: '',
        durationMs: 1,
        targets: {},
        checks: [],
      }),
    ).toBe(false);
    expect(
      validate({
        hook: 'x',
        status: 'Failed',
        outcome: 'failed',
        reason: '',
        durationMs: 1,
        targets: {},
        checks: [{ name: 'a' }],
      }),
    ).toBe(false);
  });

  it('writes JUnit XML that parses back with one testcase per check and the right failures', async () => {
    const junit = join(dir, 'report.xml');
    const { io } = cliIO();
    const code = await command.run(['--config', MIXED, '--junit', junit], io);
    expect(code).toBe(EXIT_FAILED);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      readFileSync(junit, 'utf8'),
    );
    const suite = parsed.testsuites.testsuite;
    expect(suite).toMatchObject({
      name: 'greenlight AfterAllowTestTraffic',
      tests: '4',
      failures: '1',
      errors: '1',
      skipped: '1',
    });
    const cases = Object.fromEntries(suite.testcase.map((c: { name: string }) => [c.name, c]));
    expect(cases.smoke.failure).toBeUndefined();
    expect(cases.schema.failure).toMatchObject({
      type: 'failed',
      message: 'blue reads users.display_name, which is missing (dropped or renamed)',
    });
    expect(cases.schema.failure['#text']).toContain('FAIL status: expected 200, actual 503');
    expect(cases.sessions.error).toMatchObject({
      type: 'error',
      message: 'redis 10.0.0.5:6379: connect ECONNREFUSED',
    });
    expect(cases.latency.skipped.message).toMatch(/^advisory check inconclusive/);
    expect(suite.properties.property).toContainEqual({ name: 'status', value: 'Failed' });
  });

  it('keeps XML-illegal characters from a check message out of the JUnit file', async () => {
    const file = configFile(
      'control.yml',
      `targets: { test: "http://127.0.0.1:8080" }
checks:
  odd: { type: scripted, behaviour: fail, message: "bad \\u0001 byte <&>" }
hooks: { AfterAllowTestTraffic: [odd] }
`,
    );
    const junit = join(dir, 'control.xml');
    await command.run(['--config', file, '--junit', junit], cliIO().io);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).not.toContain('\u0001');
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    expect(parsed.testsuites.testsuite.testcase.failure.message).toBe('bad \uFFFD byte <&>');
  });
});

describe('greenlight check: exit codes and usage errors', () => {
  it.each([
    ['an unknown option', ['--config', MIXED, '--colour'], /Unknown option '--colour'/],
    [
      'an unknown hook',
      ['--config', MIXED, '--hook', 'AfterTraffic'],
      /--hook: expected one of BeforeInstall, .*got "AfterTraffic"/,
    ],
    [
      'a test URL that is not http(s)',
      ['--config', MIXED, '--test-url', 'ftp://x'],
      /--test-url: expected an http\(s\) URL, got the ftp scheme/,
    ],
    [
      'a check the hook does not run',
      ['--config', MIXED, '--hook', 'BeforeAllowTraffic', '--only', 'schema'],
      /BeforeAllowTraffic has no check "schema" \(it runs at AfterAllowTestTraffic: add --hook AfterAllowTestTraffic\); its checks: smoke/,
    ],
    [
      'a missing config file',
      ['--config', join(dir, 'nope.yml')],
      /config error: cannot read config .*nope\.yml: file not found/,
    ],
  ])('exits 2 and says why for %s', async (_what, args, message) => {
    const { io, stderr, stdout } = cliIO();
    expect(await command.run(args, io)).toBe(EXIT_USAGE);
    expect(stderr()).toMatch(message);
    expect(stdout()).toBe('');
  });

  it('exits 2 with the path and the expectation for an invalid config', async () => {
    const file = configFile(
      'invalid.yml',
      'targets: { test: "http://127.0.0.1:8080" }\nchecks:\n  smoke: { type: scripted, behaviour: maybe }\n',
    );
    const { io, stderr } = cliIO();
    expect(await command.run(['--config', file], io)).toBe(EXIT_USAGE);
    expect(stderr()).toContain('invalid.yml: checks.smoke.behaviour: expected one of');
  });

  it('exits 2 when a ${env:...} reference is unset, reading the environment it was given', async () => {
    const file = configFile('env.yml', 'targets: { test: "${env:GREEN_URL}" }\n');
    const unset = cliIO();
    expect(await command.run(['--config', file], unset.io)).toBe(EXIT_USAGE);
    expect(unset.stderr()).toContain('targets.test: environment variable GREEN_URL is not set');
    const set = cliIO({ env: { GREEN_URL: 'http://127.0.0.1:9' } });
    expect(await command.run(['--config', file], set.io)).toBe(EXIT_OK);
    expect(set.stdout()).toContain(
      'no checks configured for AfterAllowTestTraffic (runner.noChecks: succeed)',
    );
  });

  it('exits 1 when no checks are configured and runner.noChecks is fail', async () => {
    const file = configFile(
      'nochecks.yml',
      'targets: { test: "http://127.0.0.1:8080" }\nrunner: { noChecks: fail }\n',
    );
    const { io, stdout } = cliIO();
    expect(await command.run(['--config', file], io)).toBe(EXIT_FAILED);
    expect(stdout()).toContain('AfterAllowTestTraffic: Failed');
  });

  it('runs only the checks named with --only, comma-separated or repeated', async () => {
    const { io, stdout } = cliIO();
    expect(await command.run(['--config', MIXED, '--only', 'smoke', '--only', 'latency'], io)).toBe(EXIT_OK);
    expect(stdout()).toMatch(/^smoke +passed/m);
    expect(stdout()).toMatch(/^latency \(advisory\) +inconclusive/m);
    expect(stdout()).not.toMatch(/^schema/m);
  });
});

describe('greenlight check: against a real test URL', () => {
  let server: Server;
  let url: string;
  const config = (target: string) =>
    configFile(
      'http.yml',
      `targets: { test: "${target}", prod: "${target}" }
checks:
  smoke:
    type: http
    requests:
      - path: /health
        expect: { status: 200 }
hooks: { AfterAllowTestTraffic: [smoke] }
`,
    );

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.headers.host?.length && req.url === '/health' && healthy ? 200 : 503, {
        'content-type': 'text/plain',
      });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  let healthy = true;

  it('exits 0 when the built-in http check passes against --test-url', async () => {
    healthy = true;
    const file = config('http://127.0.0.1:9');
    const { io, stdout } = cliIO();
    const run = createCheckCommand({ checkTypes: builtinCheckTypes });
    expect(await run.run(['--config', file, '--test-url', url], io)).toBe(EXIT_OK);
    expect(normalise(stdout())).toContain('AfterAllowTestTraffic: Succeeded');
  });

  it('exits 1 and shows expected vs actual when the test URL answers 503', async () => {
    healthy = false;
    const file = config(url);
    const { io, stdout } = cliIO();
    const run = createCheckCommand({ checkTypes: builtinCheckTypes });
    expect(await run.run(['--config', file], io)).toBe(EXIT_FAILED);
    expect(normalise(stdout())).toMatch(/smoke +failed +<duration> +.*expected 200, actual 503/);
    expect(normalise(stdout())).toContain(`GET http://127.0.0.1:<port>/health returned 503, expected 200`);
  });
});

describe('greenlight rehearse: usage', () => {
  it('exits 2 naming the scenarios for an unknown one, before starting anything', async () => {
    const { rehearseCommand } = await import('../../bin/commands/rehearse');
    const { io, stderr, stdout } = cliIO();
    expect(await rehearseCommand.run(['--scenario', 'chaos'], io)).toBe(EXIT_USAGE);
    expect(stderr()).toContain(
      '--scenario: expected one of good, broken-endpoint, dropped-column, session-format-change, slow-start, crash-loop, health-check-path, error-burst-after-shift, approved-release, approval-timeout, got "chaos"',
    );
    expect(stdout()).toBe('');
  });
});
