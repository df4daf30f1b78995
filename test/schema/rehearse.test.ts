import {
  APP_SCHEMA,
  bundleCli,
  createLiveDatabase,
  migrationsDir,
  recordedFile,
  type BundledCli,
  type LiveDatabase,
} from './rehearsal-kit';

// A value that must never leave the database or the files: blue once sent it as a literal.
const SECRET = 'sk_live_R8d2Kq7Vx1Pz';

// Blue's statements as `greenlight schema record` saved them before the release.
const BLUE = [
  'SELECT id, firstname, email FROM users WHERE email = $1',
  'SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.id = $1',
  'INSERT INTO users (email, firstname) VALUES ($1, $2)',
  'UPDATE users SET firstname = $1 WHERE id = $2',
  `SELECT id, firstname FROM users WHERE api_token = '${SECRET}'`,
  'SELECT id, email FROM user_emails WHERE id = $1',
];

jest.setTimeout(180_000);

let live: LiveDatabase;
let blue: string;
let cli: BundledCli;
const rehearse = (args: string[]) => cli.run(['schema', 'rehearse', ...args]);
beforeAll(async () => {
  cli = await bundleCli();
  live = await createLiveDatabase();
  await live.exec(APP_SCHEMA);
  await live.exec(`INSERT INTO users (firstname, email) VALUES ('Ada', 'ada@example.com')`);
  blue = recordedFile(BLUE);
});
afterAll(async () => {
  cli?.remove();
  await live?.drop();
});

describe('greenlight schema rehearse', () => {
  it('catches the firstname → forename rename before the live database changes', async () => {
    const before = await live.dump();
    const dir = migrationsDir({
      'V3__rename_firstname.sql':
        '-- the breaking release\nALTER TABLE users RENAME COLUMN firstname TO forename;\n',
    });

    const result = await rehearse(['--db', live.url, '--migrations', dir, '--statements', blue]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('1 pending flyway migration (V3__rename_firstname.sql)');
    expect(result.stdout).toMatch(
      /recorded statement `SELECT id, firstname, email FROM users WHERE email = \$1` .*no longer prepares: column users\.firstname is missing/,
    );
    expect(result.stdout).toMatch(/UPDATE users SET firstname = \$1 WHERE id = \$2/);
    expect(result.stdout).not.toContain('orders o JOIN'); // unaffected statements are not blamed
    expect(result.stdout).toContain('live schema unchanged');
    expect(result.stdout).toMatch(/Failed \(\d+ problems\)/);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    // The live database was only read: its schema dump is the same, byte for byte.
    expect(await live.dump()).toBe(before);
    const columns = await live.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('firstname', 'forename')",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['firstname']);
  });

  it('passes the expand release that adds forename and keeps firstname', async () => {
    const before = await live.dump();
    const dir = migrationsDir({
      'V3__add_forename.sql':
        'ALTER TABLE users ADD COLUMN forename text;\nALTER TABLE users ALTER COLUMN firstname DROP NOT NULL;\n',
      'V4__backfill_forename.sql': 'UPDATE users SET forename = firstname WHERE forename IS NULL;\n',
    });

    const result = await rehearse(['--db', live.url, '--migrations', dir, '--statements', blue]);

    expect(result.stdout).toContain(
      '2 pending flyway migrations (V3__add_forename.sql, V4__backfill_forename.sql)',
    );
    expect(result.stdout).toMatch(/blue's statements: 6 checked, 6 prepared after the migrations/);
    expect(result.stdout).toMatch(/^Passed in \d+ ms$/m);
    expect(result.code).toBe(0);
    expect(await live.dump()).toBe(before);
  });

  it('reports a migration that does not apply, without the literals it carries', async () => {
    const dir = migrationsDir({
      'V3__token.sql': `ALTER TABLE users ADD COLUMN token_hash int DEFAULT '${SECRET}';\n`,
      'V4__later.sql': 'ALTER TABLE users ADD COLUMN later int;\n',
    });

    const result = await rehearse(['--db', live.url, '--migrations', dir, '--statements', blue, '--json']);

    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      findings: Array<{ kind: string; rule: string; subject: string; message: string }>;
      statements: { checked: number };
      live: { unchanged: boolean };
    };
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'migration', rule: 'migration-fails', subject: 'V3__token.sql:1' }),
    ]);
    expect(report.findings[0]!.message).toMatch(
      /invalid input syntax for type integer.*nothing after it was applied/,
    );
    expect(report.statements.checked).toBe(0); // a schema the migration never reached is not judged
    expect(report.live.unchanged).toBe(true);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('reads pending migrations from flyway history: a failed V2 runs again, applied ones do not', async () => {
    await live.exec(`UPDATE flyway_schema_history SET success = false WHERE version = '2'`);
    try {
      const dir = migrationsDir({ 'V3__noop.sql': 'SELECT 1;\n' });
      const result = await rehearse(['--db', live.url, '--migrations', dir]);
      // V2 re-creates orders, which exists: the rehearsal applies it and it fails, as flyway would.
      expect(result.stdout).toContain('2 pending flyway migrations (V2__orders.sql, V3__noop.sql)');
      expect(result.stdout).toMatch(/migration V2__orders\.sql:1 fails .*relation "orders" already exists/);
    } finally {
      await live.exec(`UPDATE flyway_schema_history SET success = true WHERE version = '2'`);
    }
  });

  it('lists what the shadow could not rebuild, and does not blame the migration for statements on it', async () => {
    // PGlite starts without extensions: citext, and the table that uses it, cannot be rebuilt.
    await live.exec('CREATE EXTENSION citext; CREATE TABLE tags (id int PRIMARY KEY, name citext NOT NULL)');
    try {
      const statements = recordedFile([...BLUE, 'SELECT id, name FROM tags WHERE name = $1']);
      const dir = migrationsDir({ 'V3__nullable.sql': 'ALTER TABLE users ADD COLUMN nickname text;\n' });

      const result = await rehearse(['--db', live.url, '--migrations', dir, '--statements', statements]);

      expect(result.stdout).toMatch(
        /not rebuilt in the shadow: extension citext \(.+\); table public\.tags \(.+\)/,
      );
      expect(result.stdout).toMatch(
        /blue's statements: 6 checked, 6 prepared after the migrations; not checked: 1 fail on the shadow before the migration too/,
      );
      expect(result.stdout).toMatch(/^Passed in \d+ ms$/m);
      expect(result.code).toBe(0);
    } finally {
      await live.exec('DROP TABLE tags; DROP EXTENSION citext');
    }
  });

  it('rejects bad input with a usage error naming the option', async () => {
    expect(await rehearse(['--db', live.url])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--migrations DIR is required'),
    });
    expect(
      await rehearse(['--db', live.url, '--migrations', '/nonexistent/dir', '--tool', 'flyway']),
    ).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cannot read the migrations directory /nonexistent/dir'),
    });
    expect(await rehearse(['--db', 'mysql://root@127.0.0.1:3306/x', '--migrations', '.'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('rehearsal needs PostgreSQL'),
    });
  });
});
