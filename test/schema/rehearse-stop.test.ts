import { migrationRehearsalCheckType } from '../../checks/migration-rehearsal';
import { migrationRehearsalOptions } from '../../checks/migration-rehearsal/options';
import { connectionSchema, resolveConnection, type ConnectionSettings } from '../../checks/schema/connection';
import { folderMigrations, type MigrationSource } from '../../checks/schema/migration-files';
import { openSession } from '../../checks/schema/open-session';
import { rehearseMigration, RehearsalStopped } from '../../checks/schema/rehearse-migration';
import { silentLogger } from '../../lib/log';
import { APP_SCHEMA, createLiveDatabase, migrationsDir, type LiveDatabase } from './rehearsal-kit';

// A rehearsal stopped by its signal (a hook's deadline) ends between two steps, saying which,
// before PGlite is started when the stop comes first: these run in jest, where PGlite cannot load.

let live: LiveDatabase;
beforeAll(async () => {
  live = await createLiveDatabase('rehearse_stop');
  await live.exec(APP_SCHEMA);
});
afterAll(async () => {
  await live?.drop();
});

const settings = () => resolveConnection(connectionSchema.parse({ url: live.url })) as ConnectionSettings;

describe('a stopped rehearsal', () => {
  it('throws RehearsalStopped naming the step it was in, when the stop comes while reading the migrations', async () => {
    const stop = new AbortController();
    const folder = folderMigrations(
      migrationsDir({ 'V3__add.sql': 'ALTER TABLE users ADD COLUMN x int;\n' }),
    );
    // The deadline passes while the pending migrations are read.
    const source: MigrationSource = {
      ...folder,
      read: async (file) => {
        const text = await folder.read(file);
        stop.abort(new Error('the hook’s deadline is near'));
        return text;
      },
    };
    const session = await openSession(settings(), new AbortController().signal);
    try {
      const err = await rehearseMigration({
        live: session,
        migrations: source,
        tool: 'flyway',
        signal: stop.signal,
        cacheFile: false,
      }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(RehearsalStopped);
      expect((err as RehearsalStopped).phase).toBe('reading the live schema');
      expect((err as RehearsalStopped).message).toMatch(
        /^stopped while reading the live schema, after \d+ ms$/,
      );
    } finally {
      await session.close();
    }
  });

  it('makes the check inconclusive, naming what to raise, when the run is stopped as it starts', async () => {
    const options = migrationRehearsalOptions.parse({ url: live.url, migrations: migrationsDir({}) });
    const check = migrationRehearsalCheckType.create(options, {
      name: 'rehearse',
      path: 'checks.rehearse',
      targets: [],
      fail: () => new Error('unexpected'),
    });

    const report = await check.run({
      signal: AbortSignal.abort(new Error('the hook’s deadline passed')),
      deadline: Date.now() + 60_000,
      targets: {},
      deployment: { lifecycleEvent: 'BeforeInstall' },
      log: silentLogger,
    });

    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toMatch(
      /^rehearsal on a copy of PostgreSQL postgres@127\.0\.0\.1:5432\/rehearse_stop_\w+ stopped while .*: no verdict; raise the function’s timeout \(param timeout\) and memorySize/,
    );
  });
});
