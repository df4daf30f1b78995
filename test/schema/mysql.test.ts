import { createConnection } from 'mysql2/promise';
import { connectionSchema, resolveConnection, type ConnectionSettings } from '../../checks/schema/connection';
import { openSession } from '../../checks/schema/open-session';
import { introspect } from '../../checks/schema/introspect';
import { findingMessages, runSchemaCheck, scratchMysql, type ScratchMysql } from './support';

let db: ScratchMysql;
beforeEach(async () => {
  db = await scratchMysql();
  await db.exec(`
    CREATE TABLE users (
      id bigint AUTO_INCREMENT PRIMARY KEY,
      email varchar(320) NOT NULL,
      name varchar(200) NULL,
      status enum('active', 'banned', 'archived') NOT NULL DEFAULT 'active',
      created_at datetime NOT NULL DEFAULT CURRENT_TIMESTAMP
    )`);
});
afterEach(() => db.drop());

const blue = () => ({
  version: 'v1',
  engine: 'mysql',
  reads: { users: ['id', 'email', 'name', 'status'] },
  writes: { users: ['email', 'name', 'status'] },
  types: { 'users.id': ['integer'], 'users.email': ['text'] },
  enums: { 'users.status': ['active', 'banned'] },
});
const green = () => ({
  ...blue(),
  version: 'v2',
  reads: { users: [...blue().reads.users, 'nickname'] },
  writes: { users: [...blue().writes.users, 'nickname'] },
});
const check = (contracts: { green: object; blue?: object }, extra: Record<string, unknown> = {}) =>
  runSchemaCheck({
    url: db.url,
    contracts: {
      green: { inline: contracts.green },
      ...(contracts.blue ? { blue: { inline: contracts.blue } } : {}),
    },
    ...extra,
  });

describe('schema check on MariaDB', () => {
  it('passes for both versions when green only adds a nullable column (expand)', async () => {
    await db.exec('ALTER TABLE users ADD COLUMN nickname varchar(50) NULL');
    const report = await check({ green: green(), blue: blue() });
    expect(findingMessages(report)).toEqual([]);
    expect(report.outcome).toBe('passed');
    expect(report.details?.sqlMode).toMatch(/STRICT_TRANS_TABLES/);
  });

  it('fails naming blue and the column when a column blue reads is dropped', async () => {
    await db.exec('ALTER TABLE users DROP COLUMN name');
    const report = await check({
      green: { ...blue(), reads: { users: ['id'] }, writes: { users: ['email'] } },
      blue: blue(),
    });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/^blue reads users\.name, which is missing \(dropped or renamed\)/);
    expect(findingMessages(report).every((m) => m.includes('blue'))).toBe(true);
  });

  it('lets a view shim over a renamed column satisfy reads but not writes', async () => {
    await db.exec(
      'RENAME TABLE users TO accounts; ALTER TABLE accounts CHANGE name full_name varchar(200) NULL; CREATE VIEW users AS SELECT id, email, full_name AS name, status FROM accounts',
    );
    expect((await check({ green: { ...blue(), writes: {} } })).outcome).toBe('passed');
    const report = await check({ green: blue() });
    expect(report.outcome).toBe('failed');
    expect(findingMessages(report)[0]).toMatch(
      /^failure: green writes users\.email, but users is a view whose column email is not updatable \(a view shim satisfies reads, not writes\)/,
    );
  });

  it.each([
    { sqlMode: undefined, outcome: 'failed', why: 'the server default (strict here)' },
    { sqlMode: 'STRICT_ALL_TABLES', outcome: 'failed', why: 'strict' },
    { sqlMode: 'NO_ENGINE_SUBSTITUTION', outcome: 'passed', why: 'not strict: a warning' },
  ])(
    'a new NOT NULL column without default that blue does not write follows sql_mode: $why',
    async ({ sqlMode, outcome }) => {
      await db.exec('ALTER TABLE users ADD COLUMN nickname varchar(50) NOT NULL');
      const report = await check({ green: green(), blue: blue() }, sqlMode === undefined ? {} : { sqlMode });
      expect(report.outcome).toBe(outcome);
      const [finding] = findingMessages(report);
      if (outcome === 'failed') {
        expect(finding).toBe(
          "failure: blue writes users without nickname, which has NOT NULL with no default: blue's INSERTs will fail (sql_mode is strict)",
        );
      } else {
        expect(finding).toMatch(
          /^warning: blue writes users without nickname, which is NOT NULL with no default: sql_mode "NO_ENGINE_SUBSTITUTION" is not strict/,
        );
        expect(report.message).toMatch(/1 warning: blue writes users without nickname/);
      }
    },
  );

  it('fails when an enum value green still writes is removed from the ENUM', async () => {
    await db.exec("ALTER TABLE users MODIFY status enum('active', 'archived') NOT NULL DEFAULT 'active'");
    const report = await check({ green: blue() });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/^green writes 'banned' into users\.status, which its ENUM no longer has/);
  });

  it('fails when a column type leaves the accepted family', async () => {
    await db.exec('ALTER TABLE users MODIFY email varbinary(320) NOT NULL');
    const report = await check({ green: blue() });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^green expects users\.email as text, but it is varbinary\(320\) \(binary\)/,
    );
  });

  it.each([
    { table: '_users_gho', tool: 'gh-ost', role: 'shadow' },
    { table: '_users_ghc', tool: 'gh-ost', role: 'changelog' },
    { table: '_users_new', tool: 'pt-online-schema-change', role: 'shadow' },
  ])('reports a $tool $role table in flight ($table)', async ({ table, tool, role }) => {
    await db.exec(`CREATE TABLE ${table} LIKE users`);
    const report = await check({ green: blue() });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      new RegExp(
        `^${tool} ${role} table ${table} exists beside users: an online ALTER of users is in flight`,
      ),
    );
    const advisory = await check({ green: blue() }, { severity: { inFlight: 'warn' } });
    expect(advisory.outcome).toBe('passed');
    expect(advisory.message).toMatch(new RegExp(`1 warning: ${tool} ${role} table ${table}`));
  });

  it('reads a contract table in another database (a MySQL schema) and its constraints', async () => {
    const audit = await scratchMysql();
    try {
      await audit.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, at datetime NOT NULL, kind varchar(20) NOT NULL, CONSTRAINT kind_known CHECK (kind <> ''))",
      );
      const events = `${audit.database}.events`;
      const contract = {
        ...blue(),
        reads: { ...blue().reads, [events]: ['id', 'at'] },
        writes: { ...blue().writes, [events]: ['id', 'at', 'kind'] },
        types: { ...blue().types, [`${events}.at`]: ['timestamp'] },
        constraints: { [events]: ['PRIMARY'] },
      };
      const report = await check({ green: contract });
      expect(report.outcome).toBe('passed');
      expect(findingMessages(report)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^warning: CHECK kind_known CHECK \\(\`kind\` <> ''\\) on ${events}\\.kind, which green writes`,
          ),
        ),
      ]);

      await audit.exec('ALTER TABLE events CHANGE at happened_at datetime NOT NULL');
      const broken = await check({ green: contract });
      expect(broken.outcome).toBe('failed');
      expect(broken.message).toMatch(
        new RegExp(`^green reads ${events}\\.at, which is missing \\(dropped or renamed\\)`),
      );
    } finally {
      await audit.drop();
    }
  });

  it('reads CHECK and UNIQUE constraints on written columns from information_schema', async () => {
    await db.exec(
      "ALTER TABLE users ADD CONSTRAINT email_shape CHECK (email LIKE '%@%'), ADD CONSTRAINT users_email UNIQUE (email)",
    );
    const report = await check({ green: { ...blue(), constraints: { users: ['PRIMARY'] } } });
    expect(report.outcome).toBe('passed');
    const warnings = findingMessages(report);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: CHECK email_shape CHECK \(`email` like '%@%'\) on users\.email, which green writes, is not in green's contract/,
      ),
      expect.stringMatching(
        /^warning: UNIQUE users_email on users\.email, which green writes, is not in green's contract/,
      ),
    ]);
  });
});

describe('MariaDB session', () => {
  const settings = (): ConnectionSettings => {
    const resolved = resolveConnection(
      connectionSchema.parse({ url: db.url, statementTimeoutMs: 500, lockTimeoutMs: 1_000 }),
    );
    if ('field' in resolved) throw new Error(resolved.message);
    return resolved;
  };

  it('is read-only and bounded: writes are refused, long statements are cut', async () => {
    const session = await openSession(settings(), new AbortController().signal);
    try {
      expect(session.readOnly).toBe(true);
      expect(session.mariadb).toBe(true);
      await expect(session.query("INSERT INTO users (email) VALUES ('x@y')")).rejects.toThrow(
        /READ ONLY transaction/i,
      );
      const t0 = performance.now();
      await expect(
        // 506³ rows of a fixed system table: long whatever other tests have created meanwhile.
        session.query(
          'SELECT COUNT(*) FROM information_schema.COLLATIONS a, information_schema.COLLATIONS b, information_schema.COLLATIONS c',
        ),
      ).rejects.toThrow(/max_statement_time|interrupted|exceeded/i);
      expect(performance.now() - t0).toBeLessThan(3_000);
    } finally {
      await session.close();
    }
  });

  it('introspects in one query per catalog, whatever the number of tables', async () => {
    const session = await openSession(settings(), new AbortController().signal);
    try {
      const small = await introspect(session, []);
      const ddl = Array.from(
        { length: 40 },
        (_, i) => `CREATE TABLE t${i} (id int PRIMARY KEY, v varchar(10) NOT NULL CHECK (v <> ''))`,
      ).join(';');
      await db.exec(ddl);
      const large = await introspect(session, []);
      expect(large.tables.size).toBe(small.tables.size + 40);
      expect(large.queries).toBe(small.queries);
      expect(large.queries).toBe(7); // TABLES, VIEWS, COLUMNS, TABLE_CONSTRAINTS, CHECK_CONSTRAINTS, KEY_COLUMN_USAGE, PROCESSLIST
    } finally {
      await session.close();
    }
  });
});

it("the machine's MariaDB runs with a strict sql_mode (the premise of the default case above)", async () => {
  const conn = await createConnection({ host: '127.0.0.1', user: 'root' });
  const [rows] = await conn.query('SELECT @@GLOBAL.sql_mode AS m');
  await conn.end();
  expect((rows as Array<{ m: string }>)[0]!.m).toMatch(/STRICT_(TRANS|ALL)_TABLES/);
});
