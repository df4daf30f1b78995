import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { migrationRehearsalCheckType } from '../../checks/migration-rehearsal';
import { parseConfig } from '../../config/config';
import { MotoServer } from '../support/moto-server';
import {
  APP_SCHEMA,
  bundleCli,
  createLiveDatabase,
  migrationsDir,
  recordedFile,
  type BundledCli,
  type LiveDatabase,
} from './rehearsal-kit';

// The migration-rehearsal check as a hook runs it, through `greenlight check --hook BeforeInstall`
// (the CLI is the hooks' second adapter over the same loader and runner), in a real Node process:
// PGlite loads its WebAssembly with a dynamic import, which jest's module sandbox does not offer.
// The live database is the machine's PostgreSQL; migrations come from a folder or moto's S3.
jest.setTimeout(240_000);

const BLUE = [
  'SELECT id, firstname, email FROM users WHERE id = $1',
  'INSERT INTO users (email, firstname) VALUES ($1, $2)',
];
const EXPAND =
  'ALTER TABLE users ADD COLUMN forename text;\nALTER TABLE users ALTER COLUMN firstname DROP NOT NULL;\nUPDATE users SET forename = firstname;\n';
const RENAME = 'ALTER TABLE users RENAME COLUMN firstname TO forename;\n';
const BUCKET = 'rehearse-check';

interface CheckJson {
  name: string;
  outcome: string;
  message: string;
  assertions: Array<{ what: string; expected: unknown; actual: unknown; ok: boolean }>;
  details?: {
    pending?: string[];
    findings?: Array<{ kind: string; rule: string; severity: string; fix?: string }>;
    phase?: string;
  };
}

const moto = new MotoServer();
let live: LiveDatabase;
let cli: BundledCli;
beforeAll(async () => {
  await moto.start();
  const s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'eu-west-1' });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  for (const [key, body] of Object.entries({
    'web/migrations/V1__init.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY);\n',
    'web/migrations/V2__orders.sql': 'CREATE TABLE orders (id int PRIMARY KEY);\n',
    'web/migrations/V3__rename_firstname.sql': RENAME,
  }))
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  cli = await bundleCli();
  live = await createLiveDatabase('rehearse_check');
  await live.exec(APP_SCHEMA);
  // users is large for the lock rules (2,000 rows, analyzed, so pg_class.reltuples knows).
  await live.exec(
    `INSERT INTO users (firstname, email) SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 2000) g; ANALYZE users;`,
  );
});
afterAll(async () => {
  cli?.remove();
  await live?.drop();
  await moto.stop();
});

/** Runs `greenlight check --hook BeforeInstall` with one migration-rehearsal check of these options. */
async function rehearse(
  options: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; check: CheckJson; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rehearse-check-'));
  const config = join(dir, 'greenlight.yml');
  writeFileSync(
    config,
    `targets: { test: "http://127.0.0.1:9" }
checks:
  rehearse:
    type: migration-rehearsal
    url: ${live.url}
${options
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
hooks:
  BeforeInstall: [rehearse]
`,
  );
  const result = await cli.run(['check', '--config', config, '--hook', 'BeforeInstall', '--json'], {
    AWS_ENDPOINT_URL_S3: moto.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    ...env,
  });
  const verdict = JSON.parse(result.stdout) as { checks: CheckJson[] };
  return { code: result.code, check: verdict.checks[0]!, stderr: result.stderr };
}

describe('migration-rehearsal at BeforeInstall', () => {
  it('passes the expand release from a packaged folder, and leaves the live schema as it was', async () => {
    const before = await live.dump();
    const { code, check } = await rehearse(`
migrations: ${migrationsDir({ 'V3__add_forename.sql': EXPAND })}
statements: { recorded: ${recordedFile(BLUE)} }
largeTables: { rows: 1000000 }`);

    expect(check.outcome).toBe('passed');
    expect(check.message).toMatch(
      /^1 pending flyway migration \(V3__add_forename\.sql\) applies on a copy of PostgreSQL postgres@127\.0\.0\.1:5432\/rehearse_check_\w+ \(3 tables, shadow built in \d+ ms\), 2 of blue’s statements still prepare, no lock rule fired$/,
    );
    expect(check.assertions).toContainEqual(
      expect.objectContaining({ what: 'live schema unchanged (DDL sha256)', ok: true }),
    );
    expect(code).toBe(0);
    expect(await live.dump()).toBe(before);
  });

  it('fails the rename from an S3 folder, naming each blue statement it breaks', async () => {
    const before = await live.dump();
    const { code, check } = await rehearse(`
migrations: s3://${BUCKET}/web/migrations/
statements: { recorded: ${recordedFile(BLUE)} }`);

    expect(check.outcome).toBe('failed');
    expect(check.details?.pending).toEqual(['V3__rename_firstname.sql']);
    expect(check.assertions.filter((a) => !a.ok).map((a) => [a.what, a.expected])).toEqual([
      ['S7: users.firstname', 'still prepares after the migrations'],
      ['S7: users.firstname', 'still prepares after the migrations'],
      ['blue’s statements after the migrations', 'prepare'],
    ]);
    expect(check.message).toMatch(
      /^recorded statement `SELECT id, firstname, email FROM users WHERE id = \$1` \(100 calls by app\) no longer prepares: column users\.firstname is missing .* \(\+1 more\)$/,
    );
    expect(code).toBe(1);
    expect(await live.dump()).toBe(before);
  });

  it('fails on a lock rule with its fix, or reports it as a warning with severity.locks: warn', async () => {
    const dir = migrationsDir({ 'V3__index.sql': 'CREATE INDEX users_email_idx ON users (lower(email));\n' });
    const failing = await rehearse(`
migrations: ${dir}
largeTables: { rows: 1000 }`);
    expect(failing.check.outcome).toBe('failed');
    expect(failing.check.assertions[0]).toMatchObject({
      what: 'require-concurrent-index-creation: V3__index.sql:1',
      expected: 'no long lock on a large table',
      actual: expect.stringMatching(/; fix: CREATE INDEX CONCURRENTLY/),
    });

    const warning = await rehearse(`
migrations: ${dir}
largeTables: { rows: 1000 }
severity: { locks: warn }`);
    expect(warning.check.outcome).toBe('passed');
    expect(warning.check.message).toMatch(
      /; 1 warning: require-concurrent-index-creation: .*fix: CREATE INDEX CONCURRENTLY/,
    );
    expect(warning.check.details?.findings).toEqual([
      expect.objectContaining({
        kind: 'lock',
        rule: 'require-concurrent-index-creation',
        severity: 'warning',
      }),
    ]);
  });

  it('fails a migration that does not apply, with its string literals hidden', async () => {
    const { check } = await rehearse(`
migrations: ${migrationsDir({ 'V3__seed.sql': "INSERT INTO users (firstname, nickname) VALUES ('sk_live_secretvalue', 'x');\n" })}`);

    expect(check.outcome).toBe('failed');
    expect(check.assertions[0]).toMatchObject({ what: 'migration-fails: V3__seed.sql:1', ok: false });
    expect(check.message).toMatch(/migration V3__seed\.sql:1 fails on a copy of the live schema: .*nickname/);
    expect(JSON.stringify(check)).not.toContain('sk_live_secretvalue');
  });

  it('ends in error naming the S3 action and folder when the bucket does not exist', async () => {
    const { check } = await rehearse('migrations: s3://no-such-bucket/web/migrations/');
    expect(check.outcome).toBe('error');
    expect(check.message).toContain('s3:ListBucket s3://no-such-bucket/web/migrations/: no such bucket');
  });

  it('does not start with less than its minimum budget, and says to raise the timeout', async () => {
    const { check } = await rehearse(`
migrations: s3://${BUCKET}/web/migrations/
timeoutMs: 5000`);
    expect(check.outcome).toBe('inconclusive');
    expect(check.message).toMatch(
      /^not started: \d+ ms of the hook’s budget left, and a rehearsal needs 20000 ms at least; raise the function’s timeout \(param timeout\) .*, or the check’s timeoutMs if it has one$/,
    );
  });

  it('does not start PGlite in a function with less memory than it needs', async () => {
    const { check } = await rehearse(`migrations: s3://${BUCKET}/web/migrations/`, {
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    });
    expect(check.outcome).toBe('error');
    expect(check.message).toContain('the function has 512 MiB of memory');
    expect(check.message).toContain('raise param memorySize to 1024 or more');
  });
});

describe('migration-rehearsal options', () => {
  const config = (options: string) =>
    parseConfig(
      `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  r:\n    type: migration-rehearsal\n${options}\nhooks:\n  BeforeInstall: [r]\n`,
      { checkTypes: [migrationRehearsalCheckType], env: {} },
    );

  it.each([
    [
      '    url: mysql://root@db:3306/app\n    migrations: db/migrations',
      /checks\.r\.url: migration rehearsal needs PostgreSQL/,
    ],
    [
      '    url: postgres://app@db/app\n    migrations: s3://bucket-only',
      /checks\.r\.migrations: expected s3:\/\/bucket\/prefix\//,
    ],
    ['    url: postgres://app@db/app', /checks\.r\.migrations/],
    [
      '    url: postgres://app@db/app\n    migrations: m\n    tool: liquibase',
      /checks\.r\.tool: expected one of flyway, golang-migrate, plain/,
    ],
    [
      '    url: postgres://app@db/app\n    migrations: m\n    severity: { locks: ignore }',
      /checks\.r\.severity\.locks: expected "fail" or "warn"/,
    ],
    ['    url: postgres://app@db/app\n    migrations: m\n    engine: postgres', /checks\.r.*engine/],
  ])('rejects %j naming the field', async (options, message) => {
    await expect(config(options)).rejects.toThrow(message);
  });

  it('loads the README example as a valid config', async () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const start = readme.indexOf('#### In a hook: `type: migration-rehearsal`');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;

    const loaded = await parseConfig(`targets: { test: "http://127.0.0.1:9" }\n${yaml}`, {
      checkTypes: [migrationRehearsalCheckType],
      env: { DB_PASSWORD: 'example-password' },
    });

    expect(loaded.config.checks['rehearse-migration']).toMatchObject({
      type: 'migration-rehearsal',
      migrations: 's3://deploy-artifacts/web/migrations/',
    });
  });

  it('takes PostgreSQL connection parts without a url', async () => {
    await expect(
      config('    host: db\n    user: app\n    database: app\n    migrations: m'),
    ).resolves.toBeDefined();
  });
});
