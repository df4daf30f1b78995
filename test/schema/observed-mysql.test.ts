import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { main } from '../../bin/cli';
import type { CheckReport } from '../../checks/types';
import { cliIO } from '../cli/cli-io';
import { mariadbExec, startMariadbWithPerformanceSchema, type StatServer } from '../support/stat-servers';
import { findingMessages, MYSQL_URL, runSchemaCheck, scratchMysql } from './support';

const SECRET = 'sk_live_M4r1aDbT0k3n';

let server: StatServer;
beforeAll(async () => {
  server = await startMariadbWithPerformanceSchema();
  await mariadbExec(
    server,
    `CREATE USER app@'%'; CREATE USER greenlight@'%'; CREATE USER nostats@'%';
     GRANT SELECT ON performance_schema.* TO greenlight@'%';`,
  );
}, 90_000);
afterAll(() => server?.stop());

let database: string;
const url = (user = 'greenlight') => `mysql://${user}@127.0.0.1:${server.port}/${database}?sslmode=disable`;
const admin = (sql: string) => mariadbExec(server, sql, database);

async function runAsApp(statements: Array<[string, unknown[]?]>): Promise<void> {
  const connection = await createConnection({ host: '127.0.0.1', port: server.port, user: 'app', database });
  try {
    for (const [sql, params] of statements) await connection.query(sql, params);
  } finally {
    await connection.end();
  }
}

// Blue's workload; mysql2 sends values inline, so only the digest keeps them out.
const BLUE: Array<[string, unknown[]?]> = [
  ...Array.from({ length: 3 }, (): [string, unknown[]] => [
    'SELECT id, firstname, email FROM users WHERE email = ?',
    ['a@example.com'],
  ]),
  ['SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.id IN (?)', [[1, 2, 3]]],
  [
    'INSERT INTO users (email, firstname, api_token) VALUES (?, ?, ?), (?, ?, ?)',
    ['b@x', 'B', 't', 'c@x', 'C', 't'],
  ],
  ['UPDATE users SET firstname = ? WHERE id = ?', ['Bee', 1]],
  [`SELECT id, firstname FROM users WHERE api_token = '${SECRET}'`],
];

beforeEach(async () => {
  database = `app_${randomBytes(4).toString('hex')}`;
  await mariadbExec(
    server,
    `CREATE DATABASE ${database};
     GRANT ALL ON ${database}.* TO app@'%'; GRANT SELECT ON ${database}.* TO greenlight@'%', nostats@'%';`,
  );
  await admin(`
    CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL,
                        firstname varchar(100), api_token varchar(100));
    CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, user_id bigint NOT NULL, total decimal(10,2) NOT NULL DEFAULT 0);
    INSERT INTO users (email, firstname) VALUES ('a@example.com', 'Ann');`);
  // A window of the application's statements only (the setup above is root's, in the same database).
  await mariadbExec(server, 'TRUNCATE TABLE performance_schema.events_statements_summary_by_digest');
  await runAsApp(BLUE);
});
afterEach(() => mariadbExec(server, `DROP DATABASE ${database}`));

const observed = (extra: Record<string, unknown> = {}) =>
  runSchemaCheck({ url: url(), statements: 'observed', ...extra });

function expectNoSecret(report: CheckReport): void {
  expect(JSON.stringify(report)).not.toContain(SECRET);
}

describe('statements: observed on MariaDB (performance_schema digests), with no contract', () => {
  it('passes additive changes: a new nullable column, a column with a default, a new table', async () => {
    await admin(`ALTER TABLE users ADD COLUMN nickname varchar(50);
                 ALTER TABLE users ADD COLUMN plan varchar(20) NOT NULL DEFAULT 'free';
                 CREATE TABLE invoices (id int PRIMARY KEY)`);
    const report = await observed();
    expect(findingMessages(report)).toEqual([]);
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/serves 5 application statements/);
    expectNoSecret(report);
  });

  it('fails naming the digest and users.firstname when a column blue reads is dropped', async () => {
    await admin('ALTER TABLE users DROP COLUMN firstname');
    const report = await observed();
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^observed statement `SELECT ID , `firstname` , `email` FROM `users` WHERE `email` = \?` \(3 calls\) no longer prepares: column users\.firstname is missing \(dropped or renamed\): Unknown column 'firstname'/,
    );
    expect(report.assertions).toEqual(
      expect.arrayContaining([expect.objectContaining({ what: 'S7 blue: users.firstname', ok: false })]),
    );
    expectNoSecret(report);
  });

  it('fails on a renamed column, and prepares the IN (...) and multi-row VALUES digests', async () => {
    await admin('ALTER TABLE users RENAME COLUMN firstname TO forename');
    const report = await observed();
    expect(report.outcome).toBe('failed');
    const messages = findingMessages(report);
    expect(messages).toHaveLength(4);
    expect(
      messages.every(
        (m) =>
          m.includes('users.firstname, which is missing') || m.includes('column users.firstname is missing'),
      ),
    ).toBe(true);
    // The join on orders (IN (...)) prepared, the SELECTs did not; the INSERT (multi-row VALUES) and the UPDATE, which
    // the login may not prepare, were compared with the catalog; nothing was left unchecked.
    expect(report.details?.statements).toMatchObject({ checked: 5, prepared: 1, checkedFromCatalog: 2 });
    expect(messages).toEqual(
      expect.arrayContaining([
        "failure: observed statement `INSERT INTO `users` ( `email` , `firstname` , `api_token` ) VALUES (?, ?, ?)` (1 call) writes column users.firstname, which is missing (dropped or renamed): the running version's statement will fail",
        "failure: observed statement `UPDATE `users` SET `firstname` = ? WHERE ID = ?` (1 call) writes column users.firstname, which is missing (dropped or renamed): the running version's statement will fail",
      ]),
    );
    // Left out: only this check's own session statements, which name no table.
    expect(report.details?.statements).toHaveProperty('notChecked', { 'names no table': 2 });
  });

  it('prepares the WHERE clause of an UPDATE and a DELETE as a SELECT (MySQL prepares no write in a read-only session)', async () => {
    await runAsApp([
      ['UPDATE users SET email = ? WHERE api_token = ?', ['d@x', 'tok']],
      ['DELETE FROM orders WHERE total < ?', [0]],
    ]);
    await admin(`ALTER TABLE users RENAME COLUMN api_token TO token_hash;
                 ALTER TABLE orders RENAME COLUMN total TO amount`);
    const report = await observed();
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^failure: observed statement `UPDATE `users` SET `email` = \? WHERE `api_token` = \?` \(1 call\) no longer prepares: column users\.api_token is missing/,
        ),
        expect.stringMatching(
          /^failure: observed statement `DELETE FROM `orders` WHERE `total` < \?` \(1 call\) no longer prepares: column orders\.total is missing/,
        ),
      ]),
    );
  });

  it('fails naming a dropped table', async () => {
    await admin('DROP TABLE orders');
    const report = await observed();
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)).toEqual([
      expect.stringMatching(
        /no longer prepares: table orders is missing \(dropped or renamed\): Table '.+\.orders' doesn't exist/,
      ),
    ]);
  });

  it('fails when a NOT NULL column without a default is one blue’s INSERT leaves out', async () => {
    await admin(`ALTER TABLE users ADD COLUMN country varchar(2) NOT NULL DEFAULT 'NL';
                 ALTER TABLE users ALTER COLUMN country DROP DEFAULT`);
    const report = await observed();
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)).toEqual([
      'failure: observed statement `INSERT INTO `users` ( `email` , `firstname` , `api_token` ) VALUES (?, ?, ?)` (1 call) leaves out users.country, NOT NULL with no default: those INSERTs will fail',
    ]);
  });

  it('never shows the literal blue sent, even when its statement fails', async () => {
    await admin('ALTER TABLE users RENAME COLUMN api_token TO token_hash');
    const report = await observed();
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)).toEqual(
      expect.arrayContaining([expect.stringContaining('WHERE `api_token` = ?`')]),
    );
    expectNoSecret(report);
  });
});

describe('statements: observed when the digests cannot be read', () => {
  it('is an error naming the grant when the login may not read performance_schema', async () => {
    const report = await observed({ url: url('nostats') });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /nostats@% may not read performance_schema: GRANT SELECT ON performance_schema\.\* TO 'nostats'@'%': /,
    );
  });

  it("is an error saying how to turn performance_schema on (the machine's MariaDB runs with it off)", async () => {
    const db = await scratchMysql();
    try {
      const report = await runSchemaCheck({ url: MYSQL_URL(db.database), statements: 'observed' });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /performance_schema is off: set performance_schema = ON in the server configuration \(RDS: the DB parameter group\) and restart the server$/,
      );
    } finally {
      await db.drop();
    }
  });

  it('is a config error to filter MySQL digests by role', async () => {
    await expect(
      runSchemaCheck({ url: url(), statements: { observed: { roles: ['app'] } } }),
    ).rejects.toThrow(/statements\.observed\.roles: applies to PostgreSQL only/);
  });
});

describe('greenlight schema record on MariaDB', () => {
  it('records the digests, which still fail after the migration once the statistics were truncated', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'recorded-')), 'blue.json');
    const cli = cliIO();
    expect(await main(['schema', 'record', '--db', url(), '--out', out], cli.io)).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toContain(SECRET);
    await mariadbExec(server, 'TRUNCATE TABLE performance_schema.events_statements_summary_by_digest');
    await admin('ALTER TABLE orders RENAME COLUMN total TO amount');
    const report = await runSchemaCheck({ url: url(), statements: { recorded: out } });
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)).toEqual([
      expect.stringMatching(
        /^failure: recorded statement `SELECT `o` \. `id` , `o` \. `total` .* no longer prepares: column orders\.total is missing/,
      ),
    ]);
  });
});
