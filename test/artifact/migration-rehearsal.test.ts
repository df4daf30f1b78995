import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { MotoServer } from '../support/moto-server';
import { blueGreenDeployment, type BlueGreenWorld } from '../support/aws-world';
import { APP_SCHEMA, createLiveDatabase, type LiveDatabase } from '../schema/rehearsal-kit';
import { invoke, packageStack, verdicts, type InvokeResult, type PackagedStack } from './artifact-kit';

// The migration rehearsal as a user deploys it: a config whose BeforeInstall runs a
// migration-rehearsal check, packaged, the BeforeInstall function unzipped outside the project and
// invoked on the runtime's Node line. Green's migrations and blue's recorded statements are in
// moto's S3, the live database is the machine's PostgreSQL, and PGlite runs from the files the zip
// carries. The expand release passes, the rename that breaks blue fails, each reported once, and
// the live schema is the same, byte for byte, after both.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const BUCKET = `art-rehearse-${run}`;
const PREFIX = 'web/migrations/';
const RECORDED_KEY = 'web/blue-statements.json';
const API_TOKEN = `sk_live_${run}Zk9QwErTy`;
const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
let s3: S3Client;
let live: LiveDatabase;
let world: BlueGreenWorld;
let stack: PackagedStack;

/** Blue's statements as `greenlight schema record` saved them; one with a literal left in. */
const BLUE_STATEMENTS = [
  'SELECT id, firstname, email FROM users WHERE id = $1',
  'INSERT INTO users (email, firstname) VALUES ($1, $2)',
  `SELECT id FROM users WHERE api_token = '${API_TOKEN}'`,
];
const EXPAND = 'V3__add_forename.sql';
const RENAME = 'V3__rename_firstname.sql';
const MIGRATIONS: Record<string, string> = {
  [EXPAND]:
    "ALTER TABLE users ADD COLUMN forename text;\nALTER TABLE users ALTER COLUMN firstname DROP NOT NULL;\nUPDATE users SET forename = firstname WHERE api_token <> 'x-literal-value';\n",
  [RENAME]: 'ALTER TABLE users RENAME COLUMN firstname TO forename;\n',
};

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

/** The release's migrations in the S3 folder: V1 and V2 (applied on the live database) and `pending`. */
async function releaseMigrations(pending: string): Promise<void> {
  for (const file of [EXPAND, RENAME])
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${file}` }));
  await put(`${PREFIX}${pending}`, MIGRATIONS[pending]!);
}

beforeAll(async () => {
  await Promise.all([moto.start(), codedeploy.start()]);
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'eu-west-1' });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  await put(`${PREFIX}V1__init.sql`, 'CREATE TABLE users (id bigserial PRIMARY KEY);\n');
  await put(`${PREFIX}V2__orders.sql`, 'CREATE TABLE orders (id int PRIMARY KEY);\n');
  // A file in a subfolder is not one of the folder's migrations.
  await put(`${PREFIX}archive/V9__old.sql`, 'this is not SQL;\n');
  await put(
    RECORDED_KEY,
    JSON.stringify({
      format: 'greenlight.statements/1',
      engine: 'postgres',
      database: 'app',
      source: 'pg_stat_statements',
      recordedAt: '2026-12-01T10:00:00.000Z',
      statements: BLUE_STATEMENTS.map((text, i) => ({ text, calls: 100 - i, role: 'app' })),
    }),
  );
  live = await createLiveDatabase('art_rehearse');
  await live.exec(APP_SCHEMA);
  world = await blueGreenDeployment(moto.url, `rh${run}`);
  stack = await packageStack(
    `
targets:
  test: http://127.0.0.1:9
checks:
  rehearse-migration:
    type: migration-rehearsal
    url: ${live.url}
    migrations: s3://${BUCKET}/${PREFIX}
    statements: { recorded: s3://${BUCKET}/${RECORDED_KEY} }
  smoke:
    type: http
    requests: [{ path: /health }]
hooks:
  BeforeInstall: [rehearse-migration]
  AfterAllowTestTraffic: [smoke]
`,
    ['memorySize=1024'],
  );
});

afterAll(async () => {
  await live?.drop();
  await Promise.all([moto.stop(), codedeploy.stop()]);
  stack?.remove();
});

let executions = 0;
async function beforeInstall(): Promise<InvokeResult & { executionId: string }> {
  const executionId = `exec-${run}-${++executions}`;
  const result = await invoke(
    stack.functions.get('beforeInstall')!,
    [{ DeploymentId: world.deploymentId, LifecycleEventHookExecutionId: executionId }],
    {
      timeoutS: 90,
      env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url },
    },
  );
  return { ...result, executionId };
}

function rehearsalResult(result: InvokeResult): { outcome: string; message: string } | undefined {
  const line = result.logs.find((l) => l.message === 'check result');
  return line?.check as { outcome: string; message: string } | undefined;
}

function zipListing(key: string): string[] {
  return execFileSync('unzip', ['-Z1', stack.functions.get(key)!.zip], { encoding: 'utf8' }).split('\n');
}

describe('migration-rehearsal packaged in the BeforeInstall hook', () => {
  it('carries PGlite’s WebAssembly and data in the BeforeInstall zip only', () => {
    expect(zipListing('beforeInstall')).toEqual(
      expect.arrayContaining([
        'handlers/before-install.pglite/pglite.wasm',
        'handlers/before-install.pglite/initdb.wasm',
        'handlers/before-install.pglite/pglite.data',
        'handlers/before-install.pglite/datadir.tgz',
      ]),
    );
    for (const key of [...stack.functions.keys()].filter((k) => k !== 'beforeInstall')) {
      expect([key, zipListing(key).filter((f) => /pglite/i.test(f))]).toEqual([key, []]);
      // A zip without PGlite stays small: the handler, its chunks and greenlight.yml.
      expect([key, statSync(stack.functions.get(key)!.zip).size < 2_000_000]).toEqual([key, true]);
    }
  });

  it('grants s3:ListBucket on the migrations prefix only, and s3:GetObject on its objects and the recording', () => {
    const policy = stack.template.Resources.IamRoleLambdaExecution!.Properties as {
      Policies: Array<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>;
    };
    const statements = policy.Policies.flatMap((p) => p.PolicyDocument.Statement);
    const of = (action: string) =>
      statements.filter((s) => (s.Action as string[]).includes(action)).map(({ Effect: _e, ...s }) => s);
    expect(of('s3:ListBucket')).toEqual([
      {
        Action: ['s3:ListBucket'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${BUCKET}` }],
        Condition: { StringEquals: { 's3:prefix': [PREFIX] } },
      },
    ]);
    expect(of('s3:GetObject')).toEqual([
      {
        Action: ['s3:GetObject'],
        Resource: [
          { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${BUCKET}/${RECORDED_KEY}` },
          { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${BUCKET}/${PREFIX}*` },
        ],
      },
    ]);
    expect(of('s3:PutObject')).toEqual([]);
  });

  it('reports Succeeded once for the expand release, leaving the live schema as it was', async () => {
    await releaseMigrations(EXPAND);
    const before = await live.dump();

    const result = await beforeInstall();

    expect(result.node.major).toBe(22);
    expect(result.records).toEqual([
      { result: expect.objectContaining({ status: 'Succeeded', delivery: 'reported' }) },
    ]);
    expect(codedeploy.reportsOf(result.executionId)).toEqual(['Succeeded']);
    expect(rehearsalResult(result)).toMatchObject({
      outcome: 'passed',
      message: expect.stringMatching(
        /^1 pending flyway migration \(V3__add_forename\.sql\) applies on a copy of PostgreSQL .*, 3 of blue’s statements still prepare, no lock rule fired$/,
      ),
    });
    expect(await live.dump()).toBe(before);
  });

  it('reports Failed once for the rename that breaks blue’s statements, naming them, with no literal shown', async () => {
    await releaseMigrations(RENAME);
    const before = await live.dump();

    const result = await beforeInstall();

    expect(result.records).toEqual([
      { result: expect.objectContaining({ status: 'Failed', delivery: 'reported' }) },
    ]);
    expect(codedeploy.reportsOf(result.executionId)).toEqual(['Failed']);
    expect(verdicts(result)[0]?.reason).toMatch(
      /^'rehearse-migration' failed: recorded statement `SELECT id, firstname, email FROM users WHERE id = \$1` \(100 calls by app\) no longer prepares: column users\.firstname is missing .*\(\+1 more\)$/,
    );
    const evidence = JSON.stringify(result.logs.find((l) => l.message === 'check result'));
    expect(evidence).toContain('INSERT INTO users (email, firstname) VALUES ($1, $2)');
    expect(`${result.stdout}${result.stderr}`).not.toContain(API_TOKEN);
    expect(await live.dump()).toBe(before);
  });
});
