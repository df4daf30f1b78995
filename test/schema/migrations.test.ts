import { findingMessages, MYSQL_URL, PG_URL, runSchemaCheck, scratchMysql, scratchPg } from './support';

interface Db {
  engine: 'postgres' | 'mysql';
  url: string;
  schemas?: string[];
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

async function open(engine: Db['engine']): Promise<Db> {
  if (engine === 'postgres') {
    const pg = await scratchPg();
    return { engine, url: PG_URL, schemas: [pg.schema], exec: pg.exec, drop: pg.drop };
  }
  const my = await scratchMysql();
  return { engine, url: MYSQL_URL(my.database), exec: my.exec, drop: my.drop };
}

const bool = (db: Db, v: boolean) => (db.engine === 'postgres' ? String(v) : v ? '1' : '0');

const FLYWAY = (db: Db) => `
  CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200),
    script varchar(1000) NOT NULL, success ${db.engine === 'postgres' ? 'boolean' : 'tinyint(1)'} NOT NULL);
  INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'V1__init.sql', ${bool(db, true)}),
                                           (2, '2', 'add nickname', 'V2__add_nickname.sql', ${bool(db, true)})`;

describe.each(['postgres', 'mysql'] as const)('migration history on %s', (engine) => {
  let db: Db;
  beforeEach(async () => {
    db = await open(engine);
    await db.exec('CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL)');
  });
  afterEach(() => db.drop());

  const contract = (migrations: object) => ({
    schemas: db.schemas,
    reads: { users: ['id', 'email'] },
    writes: { users: ['id', 'email'] },
    migrations,
  });
  const run = (green: object, blue?: object) =>
    runSchemaCheck({
      url: db.url,
      contracts: { green: { inline: green }, ...(blue ? { blue: { inline: blue } } : {}) },
    });

  it("passes when green's required flyway migrations are applied", async () => {
    await db.exec(FLYWAY(db));
    const report = await run(contract({ tool: 'flyway', required: ['1', '2'] }));
    expect(findingMessages(report)).toEqual([]);
    expect(report.outcome).toBe('passed');
  });

  it('fails naming a required migration that is not applied', async () => {
    await db.exec(FLYWAY(db));
    const report = await run(contract({ tool: 'flyway', required: ['1', '2', '3'] }));
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^green requires migration 3, which is not applied: green would run against a schema it does not expect/,
    );
  });

  it('fails naming a failed flyway row', async () => {
    await db.exec(FLYWAY(db));
    await db.exec(
      `INSERT INTO flyway_schema_history VALUES (3, '3', 'backfill', 'V3__backfill.sql', ${bool(db, false)})`,
    );
    const report = await run(contract({ tool: 'flyway', required: ['1'] }));
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^migration 3 is failed in \S*flyway_schema_history: the schema is in a state neither version was built for/,
    );
  });

  it('fails naming a dirty golang-migrate row, and counts earlier versions as applied', async () => {
    await db.exec(
      `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty ${db.engine === 'postgres' ? 'boolean' : 'tinyint(1)'} NOT NULL)`,
    );
    await db.exec(`INSERT INTO schema_migrations VALUES (20240105, ${bool(db, false)})`);
    expect(
      (await run(contract({ tool: 'golang-migrate', required: ['20240101', '20240105'] }))).outcome,
    ).toBe('passed');
    await db.exec(`UPDATE schema_migrations SET version = 20240107, dirty = ${bool(db, true)}`);
    const report = await run(contract({ tool: 'golang-migrate', required: ['20240101'] }));
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/^migration 20240107 is dirty \(half-applied\) in \S*schema_migrations/);
  });

  it('fails when a contract migration is applied while blue is live, naming it', async () => {
    await db.exec(FLYWAY(db));
    await db.exec(
      `INSERT INTO flyway_schema_history VALUES (3, '3', 'drop name', 'V3__drop_name.sql', ${bool(db, true)})`,
    );
    const blue = contract({ tool: 'flyway', required: ['1'], known: { '1': 'expand', '2': 'expand' } });
    const green = contract({
      tool: 'flyway',
      required: ['3'],
      known: { '1': 'expand', '2': 'expand', '3': 'contract' },
    });
    const report = await run(green, blue);
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^contract migration 3 \(per green's contract\) is applied while blue is live/,
    );
    expect(report.assertions).toEqual(
      expect.arrayContaining([
        { what: 'S4 blue: migration 3', expected: 'expand', actual: 'contract', ok: false },
      ]),
    );
  });

  it('passes when the migration blue does not know is an expand step, and warns about one nobody knows', async () => {
    await db.exec(FLYWAY(db));
    await db.exec(
      `INSERT INTO flyway_schema_history VALUES (3, '3', 'add col', 'V3__add.sql', ${bool(db, true)}), (4, '4', 'hotfix', 'V4__hotfix.sql', ${bool(db, true)})`,
    );
    const blue = contract({ tool: 'flyway', known: { '1': 'expand', '2': 'expand' } });
    const green = contract({
      tool: 'flyway',
      required: ['3'],
      known: { '1': 'expand', '2': 'expand', '3': 'expand' },
    });
    const report = await run(green, blue);
    expect(report.outcome).toBe('passed');
    expect(findingMessages(report)).toEqual([
      'warning: migration 4 is applied but no contract knows it, so nothing says it is safe while green is live',
      'warning: migration 4 is applied but no contract knows it, so nothing says it is safe while blue is live',
    ]);
  });

  it('fails when the history table a version requires migrations from is missing', async () => {
    const report = await run(contract({ tool: 'knex', required: ['20240101_init.js'] }));
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/^the knex history table \S*knex_migrations is missing/);
  });

  it.each([
    {
      tool: 'prisma',
      ddl: `CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, migration_name varchar(255) NOT NULL, finished_at TIMESTAMP NULL, rolled_back_at TIMESTAMP NULL);
            INSERT INTO _prisma_migrations VALUES ('a', '20240101_init', CURRENT_TIMESTAMP, NULL), ('b', '20240102_bad', NULL, NULL)`,
      failed: '20240102_bad',
    },
    {
      tool: 'liquibase',
      ddl: `CREATE TABLE DATABASECHANGELOG (ID varchar(255) NOT NULL, AUTHOR varchar(255) NOT NULL, EXECTYPE varchar(10) NOT NULL);
            INSERT INTO DATABASECHANGELOG VALUES ('init', 'dev', 'EXECUTED'), ('backfill', 'dev', 'FAILED')`,
      failed: 'backfill',
    },
    {
      tool: 'custom',
      extra: { table: 'app_migrations', idColumn: 'name', successColumn: 'ok' },
      ddl: `CREATE TABLE app_migrations (name varchar(100) PRIMARY KEY, ok ${'boolean'} NOT NULL);
            INSERT INTO app_migrations VALUES ('one', true), ('two', false)`,
      failed: 'two',
    },
  ])('reads $tool history and fails on its failed row', async ({ tool, ddl, failed, extra }) => {
    for (const statement of ddl.split(';')) await db.exec(statement);
    const report = await run(contract({ tool, required: [], ...extra }));
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(new RegExp(`^migration ${failed} is failed in `));
  });

  it.each([
    {
      tool: 'knex',
      ddl: 'CREATE TABLE knex_migrations (id int PRIMARY KEY, name varchar(255))',
      row: "INSERT INTO knex_migrations VALUES (1, 'm1.js')",
      id: 'm1.js',
    },
    {
      tool: 'rails',
      ddl: 'CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY)',
      row: "INSERT INTO schema_migrations VALUES ('20240101000000')",
      id: '20240101000000',
    },
    {
      tool: 'django',
      ddl: 'CREATE TABLE django_migrations (id int PRIMARY KEY, app varchar(255), name varchar(255))',
      row: "INSERT INTO django_migrations VALUES (1, 'shop', '0001_initial')",
      id: 'shop.0001_initial',
    },
    {
      tool: 'typeorm',
      ddl: 'CREATE TABLE migrations (id int PRIMARY KEY, timestamp bigint, name varchar(255))',
      row: "INSERT INTO migrations VALUES (1, 1700000000000, 'Init1700000000000')",
      id: 'Init1700000000000',
    },
    {
      tool: 'sequelize',
      ddl: 'CREATE TABLE "SequelizeMeta" (name varchar(255) PRIMARY KEY)',
      row: `INSERT INTO "SequelizeMeta" VALUES ('20240101-init.js')`,
      id: '20240101-init.js',
    },
  ])(
    'reads $tool history: a required migration present passes, one absent fails',
    async ({ tool, ddl, row, id }) => {
      const quote = (sql: string) => (db.engine === 'mysql' ? sql.replace(/"/g, '`') : sql);
      await db.exec(quote(ddl));
      await db.exec(quote(row));
      expect(findingMessages(await run(contract({ tool, required: [id] })))).toEqual([]);
      const report = await run(contract({ tool, required: [id, 'later'] }));
      expect(report.message).toMatch(/^green requires migration later, which is not applied/);
    },
  );
});
