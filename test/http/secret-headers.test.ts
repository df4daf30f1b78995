// Powertools picks its level when the first line is logged: every hook log line is captured.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCheckCommand } from '../../bin/commands/check';
import { builtinCheckTypes } from '../../checks/registry';
import { createHookHandler } from '../../hooks/hook-handler';
import { clearRegisteredSecrets } from '../../lib/redact';
import { cliIO } from '../cli/cli-io';
import { codeDeployServer } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { startHttpServer, type TestServer } from '../support/http-servers';

/** Twenty secret-looking header names, sent by the check and answered by the server. */
const NAMES = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'x-auth-token',
  'x-debug-token',
  'x-session-secret',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-access-token',
  'x-refresh-token',
  'x-client-secret',
  'x-db-password',
  'x-private-key',
  'x-credentials',
  'x-apikey',
  'x-session-id',
  'x-hub-signature-256',
  'x-jwt-assertion',
];
const value = () => randomBytes(10).toString('hex');
/** What the check sends, as written in greenlight.yml. */
const SENT = Object.fromEntries(NAMES.map((name) => [name, value()]));
/** What blue and green answer in the same headers. */
const ANSWERED = {
  blue: Object.fromEntries(NAMES.map((name) => [name, value()])),
  green: Object.fromEntries(NAMES.map((name) => [name, value()])),
};

const dir = mkdtempSync(join(tmpdir(), 'greenlight-secret-headers-'));
const codeDeploy = codeDeployServer();
let app: TestServer;
let configPath: string;

beforeAll(async () => {
  // A careless app: it answers secrets in headers, and echoes what it was sent in its body
  // and in a header with an innocent name.
  app = await startHttpServer((req, res) => {
    const side = req.url!.startsWith('/blue') ? 'blue' : 'green';
    const seen = Object.fromEntries(NAMES.map((name) => [name, req.headers[name]]));
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-echo': Object.values(seen).join(' '),
      ...ANSWERED[side],
    });
    res.end(JSON.stringify({ seen, issued: ANSWERED[side] }));
  });
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codeDeploy.start();
  codeDeploy.on('PutLifecycleEventHookExecutionStatus', (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));

  const headers = NAMES.map((name) => `      ${name}: "${SENT[name]}"`).join('\n');
  const wrong = NAMES.map((name) => `            ${name}: { equals: not-this }`).join('\n');
  const present = NAMES.map((name) => `            ${name}: { exists: true }`).join('\n');
  const captures = NAMES.map((name, i) => `            v${i}: { header: ${name} }`).join('\n');
  configPath = join(dir, 'greenlight.yml');
  writeFileSync(
    configPath,
    `targets:
  test: ${app.url}/green
  prod: ${app.url}/blue
checks:
  evidence:
    type: http
    retry: { attempts: 1 }
    headers:
${headers}
    requests:
      - path: /echo
        expect:
          headers:
${wrong}
          body: { contains: nothing-like-this }
  captured:
    type: http
    retry: { attempts: 1 }
    headers:
${headers}
    requests:
      - path: /login
        expect:
          headers:
${present}
        captures:
${captures}
      - path: /next?debug=\${v5}&session=\${v17}
        expect: { headers: { x-echo: not-this } }
  compared:
    type: http
    retry: { attempts: 1 }
    headers:
${headers}
    requests: [{ path: /echo }]
    diff: { headers: [${NAMES.join(', ')}, x-echo] }
hooks:
  AfterAllowTestTraffic: [evidence, captured, compared]
runner: { failFast: false }
`,
  );
});
afterAll(async () => {
  await app.close();
  await codeDeploy.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Each channel's leaks, named by channel and header, so a failure shows every one at once. */
const leaks: string[] = [];

function collectLeaks(channel: string, text: string): void {
  for (const [values, way] of [
    [SENT, 'sent'],
    [ANSWERED.blue, 'answered by blue'],
    [ANSWERED.green, 'answered by green'],
  ] as const) {
    for (const name of NAMES)
      if (text.includes(values[name]!.slice(0, 10))) leaks.push(`${channel}: ${name} (${way})`);
  }
  if (!text.includes('[redacted]')) leaks.push(`${channel}: nothing redacted, so nothing was checked`);
}

it('keeps the values of 20 secret-looking headers, sent and answered, out of every output', async () => {
  // The hook, as Lambda runs it: its log lines, its metrics and the CheckReports it decided on.
  clearRegisteredSecrets();
  const output = captureOutput();
  let outcome;
  try {
    outcome = await createHookHandler('AfterAllowTestTraffic', {
      checkTypes: builtinCheckTypes,
      configPath,
    })(
      { DeploymentId: 'd-SECRETS01', LifecycleEventHookExecutionId: 'exec-secret-headers' },
      { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req-secrets' },
    );
  } finally {
    output.restore();
  }
  // The checks ran as intended: the secrets went out, came back, and were judged.
  expect(outcome.verdict!.checks.map((c) => `${c.name}:${c.outcome}`)).toEqual([
    'evidence:failed',
    'captured:failed',
    'compared:failed',
  ]);
  const seen = app.requests.find((r) => r.url === '/green/echo')!;
  for (const name of NAMES) expect(seen.headers[name]).toBe(SENT[name]);
  expect(
    app.requests.some((r) => r.url.startsWith(`/green/next?debug=${ANSWERED.green['x-debug-token']}`)),
  ).toBe(true);
  expect(output.lines().some((l) => l.message === 'check result')).toBe(true);
  collectLeaks('hook log', output.text());
  collectLeaks('CheckReport', JSON.stringify(outcome.verdict));

  // `greenlight check`: the table, --json and --junit.
  clearRegisteredSecrets();
  const command = createCheckCommand({ checkTypes: builtinCheckTypes });
  const table = cliIO();
  await command.run(['--config', configPath], table.io);
  collectLeaks('CLI table', table.stdout() + table.stderr());

  clearRegisteredSecrets();
  const json = cliIO();
  const junit = join(dir, 'report.xml');
  await command.run(['--config', configPath, '--json', '--junit', junit], json.io);
  expect(JSON.parse(json.stdout()).checks).toHaveLength(3);
  collectLeaks('--json', json.stdout() + json.stderr());
  collectLeaks('JUnit', readFileSync(junit, 'utf8'));

  expect(leaks).toEqual([]);
});
