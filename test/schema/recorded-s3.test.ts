import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadRecorded, saveRecorded, type RecordedStatements } from '../../checks/schema/recorded-statements';
import { setS3Client } from '../../lib/s3-object';
import { MotoServer } from '../support/moto-server';
import { findingMessages, runSchemaCheck } from './support';
import {
  APP_SCHEMA,
  bundleCli,
  createLiveDatabase,
  migrationsDir,
  type BundledCli,
  type LiveDatabase,
} from './rehearsal-kit';

jest.setTimeout(180_000);

const SECRET = 'sk_live_s3Zk9QwErTy1';
const BUCKET = 'deploy-artifacts';

const recording = (texts: string[]): RecordedStatements => ({
  format: 'greenlight.statements/1',
  engine: 'postgres',
  database: 'app',
  source: 'pg_stat_statements',
  recordedAt: '2026-12-01T10:00:00.000Z',
  statements: texts.map((text, i) => ({ text, calls: 10 - i, role: 'app' })),
});

const moto = new MotoServer();
let s3: S3Client;
let live: LiveDatabase;
let cli: BundledCli;
beforeAll(async () => {
  await moto.start();
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'eu-west-1' });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  setS3Client(s3);
  live = await createLiveDatabase('recorded_s3');
  await live.exec(APP_SCHEMA);
  cli = await bundleCli();
});
afterAll(async () => {
  setS3Client(undefined);
  cli?.remove();
  await live?.drop();
  await moto.stop();
});

describe('recorded statements in S3', () => {
  it('saves a recording as an S3 object and reads it back, normalised', async () => {
    await saveRecorded(
      recording([
        'SELECT id, firstname FROM users WHERE id = $1',
        `SELECT id FROM users WHERE api_token = '${SECRET}'`,
      ]),
      `s3://${BUCKET}/blue/statements.json`,
    );

    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'blue/statements.json' }));
    expect(object.ContentType).toBe('application/json');
    const loaded = await loadRecorded(`s3://${BUCKET}/blue/statements.json`, 'postgres');
    expect(loaded.statements.map((s) => s.text)).toEqual([
      'SELECT id, firstname FROM users WHERE id = $1',
      'SELECT id FROM users WHERE api_token = $1',
    ]);
  });

  it('fails the schema check on a column dropped since blue was recorded to S3', async () => {
    await saveRecorded(
      recording(['SELECT id, api_token FROM users WHERE id = $1']),
      `s3://${BUCKET}/blue/v1.json`,
    );
    await live.exec('ALTER TABLE users RENAME COLUMN api_token TO api_token_hash');
    try {
      const report = await runSchemaCheck({
        url: live.url,
        statements: { recorded: `s3://${BUCKET}/blue/v1.json` },
      });
      expect(report.outcome).toBe('failed');
      expect(findingMessages(report).join('\n')).toMatch(
        /recorded statement `SELECT id, api_token FROM users WHERE id = \$1` .*column users\.api_token is missing/,
      );
    } finally {
      await live.exec('ALTER TABLE users RENAME COLUMN api_token_hash TO api_token');
    }
  });

  it('reports a missing object as an error naming it', async () => {
    const report = await runSchemaCheck({
      url: live.url,
      statements: { recorded: `s3://${BUCKET}/blue/none.json` },
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toContain(
      `s3:GetObject s3://${BUCKET}/blue/none.json: no such object (was it recorded?)`,
    );
  });

  it('rehearses against statements recorded to S3, with no secret in the output', async () => {
    await saveRecorded(
      recording([
        'SELECT id, firstname FROM users WHERE email = $1',
        `SELECT firstname FROM users WHERE api_token = '${SECRET}'`,
      ]),
      `s3://${BUCKET}/blue/v2.json`,
    );
    const dir = migrationsDir({
      'V3__rename.sql': 'ALTER TABLE users RENAME COLUMN firstname TO forename;\n',
    });

    const result = await cli.run(
      [
        'schema',
        'rehearse',
        '--db',
        live.url,
        '--migrations',
        dir,
        '--statements',
        `s3://${BUCKET}/blue/v2.json`,
      ],
      {
        AWS_ENDPOINT_URL_S3: moto.url,
        AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'eu-west-1',
      },
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/column users\.firstname is missing/);
    expect(result.stdout).toContain('SELECT firstname FROM users WHERE api_token = $1');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
