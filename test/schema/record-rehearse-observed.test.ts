import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { MotoServer } from '../support/moto-server';
import { pgExec, startPostgresWithStatements, type StatServer } from '../support/stat-servers';
import { APP_SCHEMA, bundleCli, migrationsDir, type BundledCli } from './rehearsal-kit';

// pg_stat_statements needs a server started with it preloaded: this file starts its own.
jest.setTimeout(180_000);

const SECRET = 'sk_live_Obs3rv3dT0ken9';
const BUCKET = 'deploy-artifacts';

const moto = new MotoServer();
let server: StatServer;
let cli: BundledCli;
let s3: S3Client;
const url = () => `postgres://greenlight@127.0.0.1:${server.port}/app?sslmode=disable`;
const awsEnv = () => ({
  AWS_ENDPOINT_URL_S3: moto.url,
  AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_REGION: 'eu-west-1',
});

beforeAll(async () => {
  [server, cli] = await Promise.all([startPostgresWithStatements(), bundleCli(), moto.start()]);
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'eu-west-1' });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  await pgExec(server, 'postgres', 'CREATE DATABASE app');
  await pgExec(server, 'app', 'CREATE EXTENSION pg_stat_statements');
  await pgExec(server, 'postgres', 'CREATE ROLE app LOGIN');
  await pgExec(server, 'postgres', 'CREATE ROLE greenlight LOGIN IN ROLE pg_read_all_stats');
  await pgExec(
    server,
    'app',
    `${APP_SCHEMA}; GRANT ALL ON ALL TABLES IN SCHEMA public TO app;
    GRANT SELECT ON flyway_schema_history TO greenlight; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app`,
  );
  // Blue's workload, as the application runs it: parameters, and one literal secret.
  const app = new Client({ host: '127.0.0.1', port: server.port, user: 'app', database: 'app' });
  await app.connect();
  try {
    await app.query('INSERT INTO users (email, firstname) VALUES ($1, $2)', ['a@example.com', 'Ann']);
    await app.query('SELECT id, firstname, email FROM users WHERE email = $1', ['a@example.com']);
    await app.query(`SELECT id, firstname FROM users WHERE api_token = '${SECRET}'`);
    await app.query('SELECT o.id, o.total FROM orders o WHERE o.user_id = $1', [1]);
  } finally {
    await app.end();
  }
});
afterAll(async () => {
  cli?.remove();
  await Promise.all([server?.stop(), moto.stop()]);
});

describe('blue’s observed statements, recorded to S3 and rehearsed against', () => {
  it('greenlight schema record --out s3://bucket/key writes the normalised statements as an object', async () => {
    const result = await cli.run(
      ['schema', 'record', '--db', url(), '--role', 'app', '--out', `s3://${BUCKET}/web/blue.json`],
      awsEnv(),
    );

    expect(result.stderr).toMatch(
      new RegExp(`^wrote s3://${BUCKET}/web/blue\\.json: 4 statements from pg_stat_statements`),
    );
    expect(result.code).toBe(0);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'web/blue.json' }));
    const text = await object.Body!.transformToString();
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text).statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ text: 'SELECT id, firstname FROM users WHERE api_token = $1' }),
      ]),
    );
  });

  it('names the missing permission or object when S3 refuses', async () => {
    const result = await cli.run(
      ['schema', 'record', '--db', url(), '--role', 'app', '--out', 's3://no-such-bucket/web/blue.json'],
      awsEnv(),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('s3:PutObject s3://no-such-bucket/web/blue.json: no such bucket');
  });

  it('rehearse --observed catches the rename from the statements blue runs now, literals never shown', async () => {
    const dir = migrationsDir({
      'V3__rename.sql': 'ALTER TABLE users RENAME COLUMN firstname TO forename;\n',
    });

    const result = await cli.run([
      'schema',
      'rehearse',
      '--db',
      url(),
      '--migrations',
      dir,
      '--observed',
      '--role',
      'app',
    ]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /observed statement `SELECT id, firstname, email FROM users WHERE email = \$1` .*column users\.firstname is missing/,
    );
    expect(result.stdout).toContain('SELECT id, firstname FROM users WHERE api_token = $1');
    expect(result.stdout).toContain('live schema unchanged');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
