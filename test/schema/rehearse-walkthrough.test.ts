import {
  APP_SCHEMA,
  bundleCli,
  createLiveDatabase,
  migrationsDir,
  recordedFile,
  type BundledCli,
  type LiveDatabase,
} from './rehearsal-kit';

// The README's walkthrough, `firstname` → `forename`, three ways, as written there.
jest.setTimeout(180_000);

// Release 1 reads and writes firstname; release 2 (after the expand) reads forename only.
const RELEASE_1 = [
  'SELECT id, firstname, email FROM users WHERE id = $1',
  'INSERT INTO users (email, firstname) VALUES ($1, $2)',
];
const RELEASE_2 = [
  'SELECT id, forename, email FROM users WHERE id = $1',
  'INSERT INTO users (email, forename) VALUES ($1, $2)',
];

const RENAME = 'ALTER TABLE users RENAME COLUMN firstname TO forename;\n';
const EXPAND =
  'ALTER TABLE users ADD COLUMN forename text;\nALTER TABLE users ALTER COLUMN firstname DROP NOT NULL;\nUPDATE users SET forename = firstname;\n';
const CONTRACT = 'ALTER TABLE users DROP COLUMN firstname;\n';

let live: LiveDatabase;
let cli: BundledCli;
const rehearse = (dir: string, statements: string) =>
  cli.run(['schema', 'rehearse', '--db', live.url, '--migrations', dir, '--statements', statements]);

beforeAll(async () => {
  cli = await bundleCli();
  live = await createLiveDatabase('walkthrough');
  await live.exec(APP_SCHEMA);
});
afterAll(async () => {
  cli?.remove();
  await live?.drop();
});

describe('firstname → forename', () => {
  it('1. the breaking rename is caught by rehearsal before it runs', async () => {
    const dir = migrationsDir({ 'V3__rename_firstname.sql': RENAME });
    const result = await rehearse(dir, recordedFile(RELEASE_1));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /SELECT id, firstname, email FROM users WHERE id = \$1` .*column users\.firstname is missing/,
    );
    expect(result.stdout).toMatch(
      /INSERT INTO users \(email, firstname\) VALUES .*column users\.firstname is missing/,
    );
  });

  it('2. the expand release (add forename, keep firstname) passes', async () => {
    const dir = migrationsDir({ 'V3__add_forename.sql': EXPAND });
    const result = await rehearse(dir, recordedFile(RELEASE_1));
    expect(result.stdout).toMatch(/^Passed in \d+ ms$/m);
    expect(result.code).toBe(0);
  });

  describe('3. the contract release (drop firstname), once the expand release is live', () => {
    beforeAll(async () => {
      // The expand release ran: V3 applied and recorded in flyway's history.
      await live.exec(EXPAND);
      await live.exec(
        `INSERT INTO flyway_schema_history VALUES (3, '3', 'add forename', 'SQL', 'V3__add_forename.sql', 3, 'app', now(), 10, true)`,
      );
    });
    const contractDir = () =>
      migrationsDir({ 'V3__add_forename.sql': EXPAND, 'V4__drop_firstname.sql': CONTRACT });

    it('fails while blue’s recorded statements still read firstname', async () => {
      const result = await rehearse(contractDir(), recordedFile(RELEASE_1));
      expect(result.stdout).toContain('1 pending flyway migration (V4__drop_firstname.sql)');
      expect(result.stdout).toMatch(/column users\.firstname is missing/);
      expect(result.code).toBe(1);
    });

    it('passes once blue’s recorded statements no longer read it', async () => {
      const result = await rehearse(contractDir(), recordedFile(RELEASE_2));
      expect(result.stdout).toMatch(/blue's statements: 2 checked, 2 prepared after the migrations/);
      expect(result.stdout).toMatch(/^Passed in \d+ ms$/m);
      expect(result.code).toBe(0);
    });
  });
});
