import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import type { HookHandler } from '../../hooks/hook-handler';
import { codeDeployServer } from '../support/aws-json-server';
import { startHttpServer } from '../support/http-servers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { greenlightBundle } = require('../../deploy/esbuild-plugins.js') as {
  greenlightBundle: (options: { configPath: string }) => import('esbuild').Plugin;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { documentJson } = require('../../deploy/packaged-config.js') as {
  documentJson: (text: string) => string | undefined;
};

const REPO = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'greenlight-esbuild-'));
// Bundles resolve the AWS SDK the way the Lambda runtime provides it: from a node_modules above them.
symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SMOKE =
  'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  smoke: { type: http, requests: [{ path: /health }] }\nhooks:\n  AfterAllowTestTraffic: [smoke]\n';

let configCount = 0;
async function bundle(
  configText: string,
  handler = 'after-allow-test-traffic',
): Promise<{ file: string; inputs: string[] }> {
  const configPath = join(dir, `greenlight-${++configCount}.yml`);
  writeFileSync(configPath, configText);
  const file = join(dir, `bundle-${configCount}.js`);
  const result = await build({
    entryPoints: [join(REPO, 'handlers', `${handler}.ts`)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
    plugins: [greenlightBundle({ configPath })],
  });
  const output = Object.values((result.metafile as Metafile).outputs)[0]!;
  return { file, inputs: Object.keys(output.inputs) };
}

/**
 * `entry` bundled as the hooks ship, ES modules split into chunks, with the plugin reading
 * `configPath`; `options` adds to or overrides the settings (the SDK left external, say).
 */
async function esmBundle(entry: string, configPath: string, outdir: string, options: BuildOptions = {}) {
  const result = await build({
    entryPoints: [entry],
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    metafile: true,
    logLevel: 'silent',
    plugins: [greenlightBundle({ configPath })],
    ...options,
  });
  return (result.metafile as Metafile).outputs;
}

describe('hook bundles carry only what greenlight.yml uses', () => {
  it('leaves database drivers, cache clients, discovery, secret resolvers and zod locales out of a smoke-test bundle', async () => {
    const { inputs } = await bundle(SMOKE);
    const has = (part: string) => inputs.some((i) => i.includes(part));
    expect(has('checks/http/index.ts')).toBe(true);
    expect(has('node_modules/undici/')).toBe(true);
    for (const absent of [
      'node_modules/mysql2/',
      'node_modules/pg/',
      'node_modules/ioredis/',
      'checks/schema/index.ts',
      'checks/session/index.ts',
      'checks/alarms/index.ts',
      'checks/discovery/listeners.ts',
      'checks/discovery/target-groups.ts',
      'config/secret-resolvers.ts',
      'zod/v4/locales/fr.js',
      'node_modules/ajv/',
    ]) {
      expect([absent, has(absent)]).toEqual([absent, false]);
    }
    expect(has('zod/v4/locales/en.js')).toBe(true);
    // A failed smoke test at AfterAllowTestTraffic reads green's tasks from the deployment.
    expect(has('checks/discovery/deployment.ts')).toBe(true);
  });

  it('leaves the deployment reads out when no http check runs at AfterInstall or AfterAllowTestTraffic', async () => {
    const { inputs } = await bundle(
      SMOKE.replace('AfterAllowTestTraffic', 'BeforeAllowTraffic'),
      'before-allow-traffic',
    );
    expect(inputs.some((i) => i.includes('checks/discovery/deployment.ts'))).toBe(false);
    expect(inputs.some((i) => i.includes('hooks/green-diagnosis.ts'))).toBe(false);
    expect(inputs.some((i) => i.includes('checks/http/index.ts'))).toBe(true);
  });

  it('gives the ECS hook green’s diagnosis from its service revision only for an http check at POST_SCALE_UP, TEST_TRAFFIC_SHIFT or POST_TEST_TRAFFIC_SHIFT', async () => {
    const smokeAt = (stage: string) => SMOKE.replace('AfterAllowTestTraffic', stage);
    const has = (inputs: string[], part: string) => inputs.some((i) => i.includes(part));

    const diagnosing = (await bundle(smokeAt('POST_TEST_TRAFFIC_SHIFT'), 'ecs-lifecycle-hook')).inputs;
    const production = await bundle(smokeAt('PRODUCTION_TRAFFIC_SHIFT'), 'ecs-lifecycle-hook');

    expect(has(diagnosing, 'hooks/ecs-green-diagnosis.ts')).toBe(true);
    expect(has(diagnosing, 'checks/diagnosis/green-evidence.ts')).toBe(true);
    // Green is the event's service revision: none of the CodeDeploy deployment reads.
    expect(has(diagnosing, 'hooks/green-diagnosis.ts')).toBe(false);
    expect(has(diagnosing, 'checks/discovery/deployment.ts')).toBe(false);
    expect(has(production.inputs, 'hooks/ecs-green-diagnosis.ts')).toBe(false);
    expect(has(production.inputs, 'checks/diagnosis/green-evidence.ts')).toBe(false);
    expect(readFileSync(production.file, 'utf8')).toContain(
      'hooks/ecs-green-diagnosis is not in this bundle because greenlight.yml was packaged when no http check runs at POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT',
    );
  });

  it('keeps discovery, the secret resolvers and each named check type when the config uses them', async () => {
    const { inputs } = await bundle(
      'targets: { test: auto, prod: auto }\nchecks:\n  db: { type: schema, engine: postgres, url: "${secretsmanager:prod/db#url}", contracts: { green: { inline: { engine: postgres } } } }\n  alarms: { type: alarms, names: [web-5xx] }\nhooks:\n  AfterAllowTestTraffic: [db, alarms]\n',
    );
    const has = (part: string) => inputs.some((i) => i.includes(part));
    for (const present of [
      'checks/schema/index.ts',
      'checks/alarms/index.ts',
      'checks/discovery/deployment.ts',
      'checks/discovery/listeners.ts',
      'config/secret-resolvers.ts',
      'node_modules/pg/',
    ]) {
      expect([present, has(present)]).toEqual([present, true]);
    }
    expect(has('checks/http/index.ts')).toBe(false);
  });

  it.each([
    ['a postgres:// URL', 'url: "postgres://app@db:5432/app"', ['pg'], ['mysql2']],
    ['a mysql:// URL', 'url: "mysql://app@db:3306/app"', ['mysql2'], ['pg']],
    ['engine: mysql', 'engine: mysql, host: db, user: app, database: app', ['mysql2'], ['pg']],
    ['a URL from the environment', 'url: "${env:DB_URL}"', ['pg', 'mysql2'], []],
  ])(
    'keeps only the database drivers the schema checks connect with (%s)',
    async (_, connection, present, absent) => {
      const { inputs } = await bundle(
        `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  db: { type: schema, ${connection}, contracts: { green: { inline: {} } } }\nhooks:\n  AfterAllowTestTraffic: [db]\n`,
      );
      const has = (name: string) => inputs.some((i) => i.includes(`node_modules/${name}/`));
      expect(Object.fromEntries([...present, ...absent].map((name) => [name, has(name)]))).toEqual({
        ...Object.fromEntries(present.map((name) => [name, true])),
        ...Object.fromEntries(absent.map((name) => [name, false])),
      });
    },
  );

  it('leaves the S3 client out unless a schema check reads or records statements in S3', async () => {
    const schema = (statements: string) =>
      bundle(
        `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  db: { type: schema, url: "postgres://app@db:5432/app", statements: ${statements} }\nhooks:\n  AfterAllowTestTraffic: [db]\n`,
      );
    const omitted = (inputs: string[]) => inputs.some((i) => i.endsWith(':@aws-sdk/client-s3'));

    expect(omitted((await schema('observed')).inputs)).toBe(true);
    expect(omitted((await schema('{ recorded: blue.json }')).inputs)).toBe(true);
    expect(omitted((await schema('{ recorded: "s3://art/web/blue.json" }')).inputs)).toBe(false);
  });

  it('as shipped (ES modules, split, the AWS SDK bundled), leaves undici and the S3 client out of a schema hook that needs neither', async () => {
    const schemaHook = async (options: string) => {
      const configPath = join(dir, `greenlight-${++configCount}.yml`);
      writeFileSync(
        configPath,
        `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  db: { type: schema, url: "postgres://app@db:5432/app", ${options} }\nhooks:\n  BeforeInstall: [db]\n`,
      );
      const outputs = await esmBundle(
        join(REPO, 'handlers', 'before-install.ts'),
        configPath,
        join(dir, `shipped-${configCount}`),
        { mainFields: ['module', 'main'] },
      );
      const inputs = Object.values(outputs).flatMap((o) => Object.keys(o.inputs));
      return {
        undici: inputs.some((i) => i.includes('node_modules/undici/')),
        s3: inputs.some((i) => i.includes('node_modules/@aws-sdk/client-s3/')),
      };
    };
    const inline =
      'contracts: { green: { inline: { engine: postgres, schemas: [public], reads: { users: [id] } } } }';
    expect(await schemaHook(inline)).toEqual({ undici: false, s3: false });
    // A contract fetched from a target needs the http check's client; statements recorded in S3, the S3 client.
    expect(await schemaHook('contracts: { green: { target: test } }')).toEqual({ undici: true, s3: false });
    expect(await schemaHook(`${inline}, statements: { recorded: "s3://art/web/blue.json" }`)).toEqual({
      undici: false,
      s3: true,
    });
  });

  it('carries PGlite, pg and the S3 client only in the bundle of the hook whose event runs a migration rehearsal', async () => {
    const config =
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n' +
      '  r: { type: migration-rehearsal, url: "postgres://app@db:5432/app", migrations: "s3://art/web/migrations/" }\n' +
      '  smoke: { type: http, requests: [{ path: /health }] }\n' +
      'hooks:\n  BeforeInstall: [r]\n  AfterAllowTestTraffic: [smoke]\n';
    const has = (inputs: string[], part: string) => inputs.some((i) => i.includes(part));

    const rehearsing = (await bundle(config, 'before-install')).inputs;
    expect(has(rehearsing, 'node_modules/@electric-sql/pglite/')).toBe(true);
    expect(has(rehearsing, 'node_modules/pg/')).toBe(true);
    expect(has(rehearsing, 'node_modules/mysql2/')).toBe(false);
    expect(rehearsing.some((i) => i.endsWith(':@aws-sdk/client-s3'))).toBe(false);

    const smoke = (await bundle(config)).inputs;
    expect(has(smoke, 'node_modules/@electric-sql/pglite/')).toBe(false);
    expect(has(smoke, 'checks/migration-rehearsal/')).toBe(false);
    expect(has(smoke, 'node_modules/pg/')).toBe(false);
  });

  it('leaves discovery out of a target-groups bundle with fixed target groups, and keeps it for discover: true', async () => {
    const fixed = await bundle(
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  tg: { type: target-groups, loadBalancer: app/web/1, green: targetgroup/g/1, blue: targetgroup/b/2 }\nhooks:\n  AfterAllowTestTraffic: [tg]\n',
    );
    expect(fixed.inputs.some((i) => i.includes('checks/target-groups/index.ts'))).toBe(true);
    expect(fixed.inputs.some((i) => /checks\/discovery\/.*\.ts$/.test(i))).toBe(false);
    const discovering = await bundle(
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  tg: { type: target-groups, discover: true }\nhooks:\n  AfterAllowTestTraffic: [tg]\n',
    );
    expect(discovering.inputs.some((i) => i.includes('checks/discovery/target-groups.ts'))).toBe(true);
    expect(discovering.inputs.some((i) => i.includes('checks/discovery/listeners.ts'))).toBe(false);
  });

  it('in ES module output, names chunks after the handler and loads the SDK clients with require', async () => {
    const configPath = join(dir, 'greenlight-esm.yml');
    writeFileSync(configPath, SMOKE);
    const outdir = join(dir, 'esm');
    const outputs = await esmBundle(
      join(REPO, 'handlers', 'after-allow-test-traffic.ts'),
      configPath,
      outdir,
      {
        outExtension: { '.js': '.mjs' },
        external: ['@aws-sdk/*'],
      },
    );
    const files = Object.keys(outputs).map((f) => f.split('/').pop()!);
    for (const file of files) {
      expect(file).toMatch(/^after-allow-test-traffic(\.chunk-\w+)?\.mjs$/);
    }
    expect(files.filter((f) => f.includes('.chunk-')).length).toBeGreaterThan(0);
    const code = files.map((f) => readFileSync(join(outdir, f), 'utf8')).join('\n');
    expect(code).not.toMatch(/(from|import\()\s*["']@aws-sdk\//);
    expect(code).toMatch(/require\("@aws-sdk\/client-codedeploy"\)/);
    // Node's built-ins are required, not imported: an imported node:http would run its lazy
    // WebSocket getter, which loads Node's own undici. Only the banner imports node:module.
    const builtinImports = [
      ...code.matchAll(/^import\s[^;]*?from\s*["']((?:node:)?[a-z_/]+)["']/gm),
      ...code.matchAll(/(?<![{\w.])import\(\s*["']((?:node:)?[a-z_/]+)["']\)/g),
    ]
      .map((m) => m[1])
      .filter((name) => name !== 'node:module');
    expect(builtinImports).toEqual([]);
    expect(code).toMatch(/require\("node:http"\)/);
  });

  it('gives an import() of a built-in module its plain exports without reading its lazy getters', async () => {
    const entry = join(dir, 'dynamic-builtin.ts');
    writeFileSync(
      entry,
      "export async function load() { const http = await import('node:http'); return { agent: typeof http.Agent, request: typeof (http.default ?? http).request }; }\n",
    );
    const configPath = join(dir, 'greenlight-dynamic.yml');
    writeFileSync(configPath, SMOKE);
    const outdir = join(dir, 'esm-dynamic');
    await esmBundle(entry, configPath, outdir, { outExtension: { '.js': '.mjs' } });
    const code = readdirSync(outdir)
      .map((f) => readFileSync(join(outdir, f), 'utf8'))
      .join('\n');
    expect(code).not.toMatch(/import\(\s*["']node:http["']\)/);
    expect(code).not.toMatch(/WebSocket/);
    // Loaded by a plain Node process, as the runtime loads it (Jest's sandbox runs CommonJS only).
    const script = `import(${JSON.stringify(join(outdir, 'dynamic-builtin.mjs'))}).then(async (m) => process.stdout.write(JSON.stringify(await m.load())))`;
    const printed = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(printed)).toEqual({ agent: 'function', request: 'function' });
  });

  it('fails the build, naming the type, when the config names a check type that does not exist', async () => {
    await expect(bundle(SMOKE.replace('type: http', 'type: htp'))).rejects.toThrow(
      /unknown check type "htp"; known: http, schema, session/,
    );
  });

  it('reports Failed saying so when a left-out module is needed by a later config', async () => {
    const server = codeDeployServer();
    process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start();
    server.on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    try {
      const { file } = await bundle(SMOKE);
      const laterConfig = join(dir, 'later.yml');
      writeFileSync(laterConfig, SMOKE.replace('"http://127.0.0.1:9"', 'auto'));
      process.env.GREENLIGHT_CONFIG = laterConfig;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(file) as { handler: HookHandler };
      const outcome = await handler(
        { DeploymentId: 'd-BUNDLE001', LifecycleEventHookExecutionId: 'x' },
        { getRemainingTimeInMillis: () => 30_000 },
      );
      expect(outcome.status).toBe('Failed');
      expect(outcome.reason).toMatch(
        /checks\/discovery\/listeners is not in this bundle because greenlight.yml was packaged when no target is "auto"; package the hooks again/,
      );
      expect(server.callsOf('PutLifecycleEventHookExecutionStatus').map((c) => c.body.status)).toEqual([
        'Failed',
      ]);
    } finally {
      delete process.env.GREENLIGHT_CONFIG;
      await server.stop();
    }
  });

  it('ends a schema check in error, naming the driver, when a later config connects to an engine the bundle left out', async () => {
    const server = codeDeployServer();
    process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start();
    server.on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    const postgresOnly = (url: string) =>
      `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  db: { type: schema, url: "${url}", contracts: { green: { inline: {} } } }\nhooks:\n  AfterAllowTestTraffic: [db]\n`;
    try {
      const { file } = await bundle(postgresOnly('postgres://app@127.0.0.1:5432/app'));
      const laterConfig = join(dir, 'later-mysql.yml');
      writeFileSync(laterConfig, postgresOnly('mysql://root@127.0.0.1:3306/test'));
      process.env.GREENLIGHT_CONFIG = laterConfig;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(file) as { handler: HookHandler };
      const outcome = await handler(
        { DeploymentId: 'd-BUNDLE002', LifecycleEventHookExecutionId: 'y' },
        { getRemainingTimeInMillis: () => 30_000 },
      );
      expect(outcome.status).toBe('Failed');
      expect(outcome.reason).toMatch(
        /the mysql2 driver is not in this bundle because greenlight.yml was packaged when no schema check connects to MySQL or MariaDB at this hook’s lifecycle events; package the hooks again/,
      );
    } finally {
      delete process.env.GREENLIGHT_CONFIG;
      await server.stop();
    }
  });
});

describe('each hook bundle carries the check types of its own lifecycle events', () => {
  const mixed = (url: string, afterAllowTestTraffic = '[smoke]') =>
    `targets: { test: "${url}" }\nchecks:\n` +
    `  smoke: { type: http, requests: [{ path: /health, expect: { status: 200 } }] }\n` +
    `  db: { type: schema, url: "postgres://app@127.0.0.1:5432/app", contracts: { green: { inline: {} } } }\n` +
    `  alarms: { type: alarms, names: [web-5xx] }\n` +
    `hooks:\n  BeforeInstall: [db]\n  AfterAllowTestTraffic: ${afterAllowTestTraffic}\n  BeforeAllowTraffic: [alarms]\n` +
    `  POST_TEST_TRAFFIC_SHIFT: [smoke]\n`;

  it.each([
    [
      'before-install',
      ['checks/schema/index.ts', 'node_modules/pg/'],
      ['checks/http/index.ts', 'checks/alarms/index.ts'],
    ],
    [
      'after-allow-test-traffic',
      ['checks/http/index.ts'],
      ['checks/schema/index.ts', 'node_modules/pg/', 'checks/alarms/index.ts'],
    ],
    [
      'before-allow-traffic',
      ['checks/alarms/index.ts'],
      ['checks/http/index.ts', 'checks/schema/index.ts', 'node_modules/pg/'],
    ],
    ['after-allow-traffic', [], ['checks/http/index.ts', 'checks/schema/index.ts', 'checks/alarms/index.ts']],
    [
      'ecs-lifecycle-hook',
      ['checks/http/index.ts'],
      ['checks/schema/index.ts', 'node_modules/pg/', 'checks/alarms/index.ts'],
    ],
  ])('%s: carries what its events run and nothing else', async (handler, present, absent) => {
    const { inputs } = await bundle(mixed('http://127.0.0.1:9'), handler);
    const has = (part: string) => inputs.some((i) => i.includes(part));
    expect(Object.fromEntries([...present, ...absent].map((part) => [part, has(part)]))).toEqual({
      ...Object.fromEntries(present.map((part) => [part, true])),
      ...Object.fromEntries(absent.map((part) => [part, false])),
    });
  });

  const runHook = async (file: string, config: string, executionId: string) => {
    const server = codeDeployServer();
    process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start();
    server.on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    const configPath = join(dir, `${executionId}.yml`);
    writeFileSync(configPath, config);
    process.env.GREENLIGHT_CONFIG = configPath;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(file) as { handler: HookHandler };
      const outcome = await handler(
        { DeploymentId: 'd-BUNDLE003', LifecycleEventHookExecutionId: executionId },
        { getRemainingTimeInMillis: () => 30_000 },
      );
      const reported = server.callsOf('PutLifecycleEventHookExecutionStatus').map((c) => c.body.status);
      return { outcome, reported };
    } finally {
      delete process.env.GREENLIGHT_CONFIG;
      await server.stop();
    }
  };

  it('runs its own checks with a config whose other events name check types it left out', async () => {
    const green = await startHttpServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end());
    try {
      const config = mixed(green.url);
      const { file } = await bundle(config);
      const { outcome, reported } = await runHook(file, config, 'own-checks');
      expect([outcome.status, outcome.verdict?.checks.map((c) => c.name)]).toEqual(['Succeeded', ['smoke']]);
      expect(reported).toEqual(['Succeeded']);
      expect(green.requests.map((r) => r.url)).toEqual(['/health']);
    } finally {
      await green.close();
    }
  });

  it('reports Failed, naming the check and its type, when its own event names a type it left out', async () => {
    const { file } = await bundle(mixed('http://127.0.0.1:9'));
    const { outcome, reported } = await runHook(
      file,
      mixed('http://127.0.0.1:9', '[smoke, db]'),
      'own-event-omitted',
    );
    expect(outcome.status).toBe('Failed');
    expect(outcome.reason).toMatch(
      /checks\.db\.type: check type "schema" is not in this bundle, which was packaged for a greenlight\.yml that does not use it at AfterAllowTestTraffic; package the hooks again/,
    );
    expect(reported).toEqual(['Failed']);
  });

  it('in a platform stack’s bundle, reports Failed for a migration rehearsal, saying where to run it instead', async () => {
    process.env.GREENLIGHT_BUNDLE_ALL = '1';
    let built: { file: string; inputs: string[] };
    try {
      built = await bundle('{}\n', 'before-install');
    } finally {
      delete process.env.GREENLIGHT_BUNDLE_ALL;
    }
    expect(built.inputs.some((i) => i.includes('node_modules/@electric-sql/pglite/'))).toBe(false);
    const { outcome, reported } = await runHook(
      built.file,
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  r: { type: migration-rehearsal, url: "postgres://app@127.0.0.1:5432/app", migrations: "s3://art/web/migrations/" }\nhooks:\n  BeforeInstall: [r]\n',
      'platform-rehearsal',
    );
    expect(outcome.status).toBe('Failed');
    expect(outcome.reason).toMatch(
      /checks\.r\.type: check type "migration-rehearsal" is not in this bundle: a platform stack’s bundles leave PostgreSQL in WebAssembly .* out; run the rehearsal from a per-service stack \(mode: service\) or in the pipeline with greenlight schema rehearse/,
    );
    expect(reported).toEqual(['Failed']);
  });
});

describe('the packaged greenlight.yml, parsed into the bundle', () => {
  it('leaves the YAML parser to a chunk the handler reaches only by import(), for a config that changed', async () => {
    const configPath = join(dir, 'greenlight-packaged.yml');
    writeFileSync(configPath, SMOKE);
    const outdir = join(dir, 'esm-packaged');
    const outputs = await esmBundle(
      join(REPO, 'handlers', 'after-allow-test-traffic.ts'),
      configPath,
      outdir,
      {
        external: ['@aws-sdk/*'],
      },
    );
    const entry = Object.keys(outputs).find((file) => outputs[file]!.entryPoint)!;
    const yamlChunks = Object.keys(outputs).filter((file) =>
      Object.keys(outputs[file]!.inputs).some((input) => input.includes('node_modules/yaml/')),
    );
    expect(yamlChunks).toHaveLength(1);
    // Every file the handler and the config loader import statically, following their imports.
    const loaded = new Set<string>();
    const follow = (file: string, kinds: string[]) => {
      for (const { path, kind } of outputs[file]!.imports) {
        if (!outputs[path] || loaded.has(path) || !kinds.includes(kind)) continue;
        loaded.add(path);
        follow(path, ['import-statement']);
      }
    };
    const configChunk = Object.keys(outputs).find((file) =>
      Object.keys(outputs[file]!.inputs).some((input) => input.endsWith('config/config.ts')),
    )!;
    follow(entry, ['import-statement']);
    follow(configChunk, ['import-statement']);
    expect(loaded.has(yamlChunks[0]!)).toBe(false);
    const code = Object.keys(outputs)
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(code).toContain(
      `packagedConfig = { text: '${SMOKE.replaceAll('\n', '\\n')}', document: JSON.parse(`,
    );
  });

  it('is the document the loader reads, and is left out when JSON cannot carry it or the YAML is invalid', () => {
    expect(JSON.parse(documentJson(SMOKE)!)).toEqual({
      targets: { test: 'http://127.0.0.1:9' },
      checks: { smoke: { type: 'http', requests: [{ path: '/health' }] } },
      hooks: { AfterAllowTestTraffic: ['smoke'] },
    });
    expect(documentJson('')).toBe('{}');
    expect(documentJson('runner: { concurrency: .nan }\n')).toBeUndefined();
    expect(documentJson('checks: {}\nchecks: {}\n')).toBeUndefined();
  });
});

describe('ajv, for expect.schema', () => {
  const withSchema = SMOKE.replace(
    '[{ path: /health }]',
    '[{ path: /health, expect: { status: 200, schema: { type: object, required: [status] } } }]',
  );

  it('is in the bundle only when a request of the hook’s checks has an expect.schema', async () => {
    const { inputs } = await bundle(withSchema);
    expect(inputs.some((i) => i.includes('node_modules/ajv/'))).toBe(true);
    expect(inputs.some((i) => i.includes('node_modules/ajv-formats/'))).toBe(true);
  });

  it('reports Failed saying so when a later config adds an expect.schema', async () => {
    const server = codeDeployServer();
    process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start();
    server.on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    try {
      const { file } = await bundle(SMOKE);
      const laterConfig = join(dir, 'later-schema.yml');
      writeFileSync(laterConfig, withSchema);
      process.env.GREENLIGHT_CONFIG = laterConfig;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(file) as { handler: HookHandler };
      const outcome = await handler(
        { DeploymentId: 'd-BUNDLE004', LifecycleEventHookExecutionId: 'ajv' },
        { getRemainingTimeInMillis: () => 30_000 },
      );
      expect(outcome.status).toBe('Failed');
      expect(outcome.reason).toMatch(
        /requests\[0\]\.expect\.schema: invalid JSON Schema: ajv is not in this bundle because greenlight\.yml was packaged when no request of its checks at this hook’s lifecycle events has expect\.schema; package the hooks again/,
      );
      expect(server.callsOf('PutLifecycleEventHookExecutionStatus').map((c) => c.body.status)).toEqual([
        'Failed',
      ]);
    } finally {
      delete process.env.GREENLIGHT_CONFIG;
      await server.stop();
    }
  });
});
