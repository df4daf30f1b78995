// Platform configs read from S3 and SSM (moto's server, through the real SDK clients): one config
// per deployment from a template, kept per container with a conditional re-read after the TTL,
// and the tenant rules that keep one service's config away from another's secrets and hosts.
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { fillConfigLocation, type DeploymentSubject } from '../../config/config-location';
import { awsConfigReader, type ConfigReader } from '../../config/config-reader';
import { RemoteConfigCache } from '../../config/remote-config';
import { checkTenantHosts, tenantRulesFor, type TenantRules } from '../../config/tenant-rules';
import { secretResolvers, resetSecretSources } from '../../config/secret-resolvers';
import { parameter, secret } from '../support/aws-world';
import { closeConfigStore, openConfigStore, type ConfigStore } from '../support/config-store';
import { MotoServer } from '../support/moto-server';
import { scriptedCheckType } from '../support/test-check-types';

jest.setTimeout(60_000);

const moto = new MotoServer();
const BUCKET = 'platform-configs';
const TEMPLATE = `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`;
let s3: S3Client;
let ssm: SSMClient;
let store: ConfigStore | undefined;

beforeAll(async () => {
  const url = await moto.start();
  store = await openConfigStore(url, BUCKET);
  ({ s3, ssm } = store);
  await secret(url, 'greenlight/web/db', { password: 'web-db-secret' });
  await secret(url, 'greenlight/billing/db', { password: 'billing-db-secret' });
  await parameter(url, '/greenlight/web/host', 'db.web.internal');
});

afterAll(async () => {
  await moto.stop();
  resetSecretSources();
  closeConfigStore(store);
});

const web: DeploymentSubject = { application: 'web', deploymentGroup: 'web-prod' };
const billing: DeploymentSubject = { application: 'billing', deploymentGroup: 'billing-prod' };

async function putConfig(subject: DeploymentSubject, text: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `greenlight/${subject.application}/${subject.deploymentGroup}.yml`,
      Body: text,
    }),
  );
}

function scripted(name: string, behaviour: string, event = 'AfterAllowTestTraffic'): string {
  return `targets: { test: "http://127.0.0.1:8080" }
checks:
  ${name}: { type: scripted, behaviour: ${behaviour} }
hooks:
  ${event}: [${name}]
`;
}

/** A reader that counts what it was asked, around the real one. */
function countingReader(): ConfigReader & { reads: number; unchanged: number } {
  const real = awsConfigReader();
  const counter = {
    reads: 0,
    unchanged: 0,
    async read(...args: Parameters<ConfigReader['read']>) {
      counter.reads++;
      const out = await real.read(...args);
      if (out === 'unchanged') counter.unchanged++;
      return out;
    },
  };
  return counter;
}

function cache(reader: ConfigReader, clock: { now: number }) {
  return new RemoteConfigCache({
    reader,
    ttlMs: 60_000,
    checkTypes: [scriptedCheckType],
    resolvers: secretResolvers({ maxAgeSeconds: 0 }),
    now: () => clock.now,
  });
}

const signal = () => AbortSignal.timeout(10_000);
const names = (config: Awaited<ReturnType<RemoteConfigCache['load']>>) =>
  config.plan('AfterAllowTestTraffic').map((p) => p.check.name);

describe('the config location', () => {
  it('fills the template from the deployment', () => {
    expect(fillConfigLocation(TEMPLATE, web)).toEqual({
      kind: 's3',
      bucket: BUCKET,
      key: 'greenlight/web/web-prod.yml',
    });
    expect(
      fillConfigLocation('ssm:/greenlight/{application}/{hookDetails.env}', {
        ...web,
        hookDetails: { env: 'prod' },
      }),
    ).toEqual({
      kind: 'ssm',
      name: '/greenlight/web/prod',
    });
    expect(fillConfigLocation('greenlight.yml', web)).toEqual({ kind: 'file', path: 'greenlight.yml' });
  });

  it('refuses a value that would leave its folder, and a placeholder it cannot fill', () => {
    expect(() => fillConfigLocation(TEMPLATE, { ...web, deploymentGroup: '../billing' })).toThrow(
      /\{deploymentGroup\} is "\.\.\/billing", which is not a plain name/,
    );
    expect(() => fillConfigLocation('ssm:/greenlight/{hookDetails.env}', web)).toThrow(
      /\{hookDetails\.env\} cannot be filled: the hook's hookDetails have no string "env"/,
    );
    expect(() => fillConfigLocation('s3://b/{tenant}.yml', web)).toThrow(/unknown placeholder \{tenant\}/);
  });
});

describe('RemoteConfigCache over S3', () => {
  it('gives each service its own config, read once per TTL, and picks up a change after it', async () => {
    await putConfig(web, scripted('web-smoke', 'pass'));
    await putConfig(billing, scripted('billing-smoke', 'fail'));
    const reader = countingReader();
    const clock = { now: 0 };
    const configs = cache(reader, clock);

    const webConfig = await configs.load(fillConfigLocation(TEMPLATE, web) as never, undefined, signal());
    const billingConfig = await configs.load(
      fillConfigLocation(TEMPLATE, billing) as never,
      undefined,
      signal(),
    );
    expect(names(webConfig)).toEqual(['web-smoke']);
    expect(names(billingConfig)).toEqual(['billing-smoke']);
    expect(webConfig.source).toBe(`s3://${BUCKET}/greenlight/web/web-prod.yml`);

    // Within the TTL: no read at all.
    clock.now = 59_000;
    expect(await configs.load(fillConfigLocation(TEMPLATE, web) as never, undefined, signal())).toBe(
      webConfig,
    );
    expect(reader.reads).toBe(2);

    // After it, unchanged: one conditional read that moves no body, and the same built config.
    clock.now = 61_000;
    expect(await configs.load(fillConfigLocation(TEMPLATE, web) as never, undefined, signal())).toBe(
      webConfig,
    );
    expect(reader).toMatchObject({ reads: 3, unchanged: 1 });

    // Changed: the next read after the TTL brings the new checks.
    await putConfig(web, scripted('web-smoke-v2', 'pass'));
    clock.now = 90_000;
    expect(
      names(await configs.load(fillConfigLocation(TEMPLATE, web) as never, undefined, signal())),
    ).toEqual(['web-smoke']);
    clock.now = 122_000;
    expect(
      names(await configs.load(fillConfigLocation(TEMPLATE, web) as never, undefined, signal())),
    ).toEqual(['web-smoke-v2']);
    expect(reader).toMatchObject({ reads: 4, unchanged: 1 });
  });

  it('reports a missing config as a ConfigError naming its location, and does not keep the failure', async () => {
    const gone: DeploymentSubject = { application: 'gone', deploymentGroup: 'gone-prod' };
    const configs = cache(awsConfigReader(), { now: 0 });
    const location = fillConfigLocation(TEMPLATE, gone) as never;
    await expect(configs.load(location, undefined, signal())).rejects.toThrow(
      `config s3://${BUCKET}/greenlight/gone/gone-prod.yml does not exist (NoSuchKey)`,
    );
    await putConfig(gone, scripted('late', 'pass'));
    expect(names(await configs.load(location, undefined, signal()))).toEqual(['late']);
  });

  it('fails once the config is deleted, at the first read after the TTL', async () => {
    const temp: DeploymentSubject = { application: 'temp', deploymentGroup: 'temp-prod' };
    await putConfig(temp, scripted('temp', 'pass'));
    const clock = { now: 0 };
    const configs = cache(awsConfigReader(), clock);
    const location = fillConfigLocation(TEMPLATE, temp) as never;
    await configs.load(location, undefined, signal());
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'greenlight/temp/temp-prod.yml' }));
    clock.now = 61_000;
    await expect(configs.load(location, undefined, signal())).rejects.toThrow(/does not exist/);
  });

  it('names the S3 location in an invalid config’s error', async () => {
    const broken: DeploymentSubject = { application: 'broken', deploymentGroup: 'broken-prod' };
    await putConfig(
      broken,
      'targets: { test: "http://127.0.0.1" }\nchecks:\n  smoke: { type: scripted, behaviour: maybe }\n',
    );
    const configs = cache(awsConfigReader(), { now: 0 });
    await expect(
      configs.load(fillConfigLocation(TEMPLATE, broken) as never, undefined, signal()),
    ).rejects.toThrow(
      new RegExp(`^s3://${BUCKET}/greenlight/broken/broken-prod\\.yml: checks\\.smoke\\.behaviour`),
    );
  });
});

describe('RemoteConfigCache over SSM', () => {
  it('re-parses only when the parameter version changed', async () => {
    const name = '/greenlight/web/config';
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: scripted('v1', 'pass') }));
    const reader = countingReader();
    const clock = { now: 0 };
    const configs = cache(reader, clock);
    const location = { kind: 'ssm' as const, name };
    const first = await configs.load(location, undefined, signal());
    clock.now = 61_000;
    expect(await configs.load(location, undefined, signal())).toBe(first);
    expect(reader.unchanged).toBe(1);
    await ssm.send(
      new PutParameterCommand({ Name: name, Type: 'String', Value: scripted('v2', 'pass'), Overwrite: true }),
    );
    clock.now = 122_000;
    expect(names(await configs.load(location, undefined, signal()))).toEqual(['v2']);
  });

  it('reports a missing parameter naming it', async () => {
    const configs = cache(awsConfigReader(), { now: 0 });
    await expect(
      configs.load({ kind: 'ssm', name: '/greenlight/none/config' }, undefined, signal()),
    ).rejects.toThrow('config ssm:/greenlight/none/config does not exist (ParameterNotFound)');
  });
});

describe('tenant rules', () => {
  const rules = (tenant: string): TenantRules => ({
    tenant: `application ${tenant}`,
    prefix: `greenlight/${tenant}/`,
    allowedHosts: ['127.0.0.1', '*.web.internal'],
  });
  let count = 0;
  async function loadAs(tenant: DeploymentSubject, text: string) {
    const subject = { ...tenant, deploymentGroup: `case-${++count}` };
    await putConfig(subject, text);
    return cache(awsConfigReader(), { now: 0 }).load(
      fillConfigLocation(TEMPLATE, subject) as never,
      rules(tenant.application),
      signal(),
    );
  }
  const withPassword = (reference: string, host = '127.0.0.1') => `targets: { test: "http://${host}:8080" }
checks:
  db:
    type: scripted
    behaviour: pass
    message: "\${${reference}}"
hooks:
  AfterAllowTestTraffic: [db]
`;

  it('resolves the service’s own secrets and parameters', async () => {
    const config = await loadAs(web, withPassword('secretsmanager:greenlight/web/db#password'));
    expect(config.config.checks.db).toMatchObject({ message: 'web-db-secret' });
    const viaSsm = await loadAs(web, withPassword('ssm:/greenlight/web/host'));
    expect(viaSsm.config.checks.db).toMatchObject({ message: 'db.web.internal' });
  });

  it('refuses another service’s secret, naming the rule and the field', async () => {
    await expect(loadAs(web, withPassword('secretsmanager:greenlight/billing/db#password'))).rejects.toThrow(
      'checks.db.message: could not resolve ${secretsmanager:greenlight/billing/db#password}: tenant rule "secrets and parameters under the service’s own prefix": secret greenlight/billing/db is outside greenlight/web/ (the prefix of application web)',
    );
    await expect(
      loadAs(
        web,
        withPassword(
          'secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:greenlight/billing/db-AbCdEf',
        ),
      ),
    ).rejects.toThrow(/is outside greenlight\/web\//);
    await expect(loadAs(web, withPassword('ssm:/greenlight/web/../billing/x'))).rejects.toThrow(
      /outside greenlight\/web\//,
    );
  });

  it('refuses ${env:...}, which would read the platform function’s environment', async () => {
    await expect(loadAs(web, withPassword('env:AWS_SECRET_ACCESS_KEY'))).rejects.toThrow(
      /tenant rule "no \$\{env:\.\.\.\} in a platform config"/,
    );
  });

  it('refuses a host outside the allow-list, in a target, a database URL or a store host', async () => {
    await expect(loadAs(web, withPassword('ssm:/greenlight/web/host', '10.1.2.3'))).rejects.toThrow(
      /targets\.test: tenant rule "hosts on the platform’s allow-list": host 10\.1\.2\.3 is not the deployment's load balancer \(use "auto"\) and not on the platform's allow-list \(127\.0\.0\.1, \*\.web\.internal\)/,
    );
    await expect(
      loadAs(web, withPassword('ssm:/greenlight/web/host', 'api.billing.internal')),
    ).rejects.toThrow(/host api\.billing\.internal is not/);
    await expect(
      loadAs(web, withPassword('ssm:/greenlight/web/host', 'api.web.internal')),
    ).resolves.toBeDefined();
    const auto = await loadAs(
      web,
      withPassword('ssm:/greenlight/web/host').replace('"http://127.0.0.1:8080"', 'auto'),
    );
    expect(auto.targets.test!.hostname).toBe('auto.greenlight.invalid');
  });
});

describe('tenant rules for a service’s own notify: channels', () => {
  const SLACK_URL = 'https://hooks.slack.com/services/T0/B0/slack-credential-77';
  const platform = {
    tenantPrefix: 'greenlight/{application}/',
    allowedHosts: ['127.0.0.1', '*.web.internal'],
    allowedNotifyHosts: ['*.hooks.acme.example', 'receiver.acme.example', '127.0.0.1'],
    allowedNotifyTopics: ['deploys-{application}', 'arn:aws:sns:eu-west-1:123456789012:shared-*'],
    allowedEventBuses: ['greenlight-{application}', '{cluster}-events'],
  };
  let count = 0;
  async function loadAs(tenant: DeploymentSubject, notify: string) {
    const subject = { ...tenant, deploymentGroup: `notify-${++count}` };
    await putConfig(subject, `${scripted('smoke', 'pass')}notify:\n${notify}`);
    return cache(awsConfigReader(), { now: 0 }).load(
      fillConfigLocation(TEMPLATE, subject) as never,
      tenantRulesFor(subject, platform),
      signal(),
    );
  }
  const source = (n = count) => `s3://${BUCKET}/greenlight/web/notify-${n}.yml`;

  it('lets a service send to Slack, allow-listed webhooks, and the topics and buses the platform lists for it', async () => {
    const config = await loadAs(
      web,
      `  slack: [{ webhookUrl: "${SLACK_URL}" }, { webhookUrl: "https://chat.hooks.acme.example/x" }]
  webhook:
    - { url: "https://receiver.acme.example/greenlight", secret: "0123456789abcdef" }
    - { url: "http://127.0.0.1:9/local", secret: "0123456789abcdef" }
  sns:
    - topicArn: arn:aws:sns:eu-west-1:123456789012:deploys-web
    - topicArn: arn:aws:sns:eu-west-1:123456789012:shared-alerts
  eventbridge: [{ eventBusName: greenlight-web }]
`,
    );
    expect(config.config.notify?.webhook).toHaveLength(2);
  });

  it.each([
    [
      'a webhook to an internal host',
      `  webhook: [{ url: "https://10.0.0.5/hook?token=hook-credential-31", secret: "0123456789abcdef" }]\n`,
      `notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": a webhook on 10.0.0.5 is not on the platform's notification allow-list (allowedNotifyHosts: *.hooks.acme.example, receiver.acme.example, 127.0.0.1)`,
    ],
    [
      'a Slack webhook off hooks.slack.com',
      `  slack: [{ webhookUrl: "https://slack.evil.example/services/T/B/slack-credential-32" }]\n`,
      `notify.slack[0].webhookUrl: tenant rule "notification endpoints on the platform’s allow-list": a Slack webhook on slack.evil.example is neither on hooks.slack.com nor on the platform's notification allow-list`,
    ],
    [
      'a Slack URL on hooks.slack.com used as a generic webhook',
      `  webhook: [{ url: "${SLACK_URL}", secret: "0123456789abcdef" }]\n`,
      'notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": a webhook on hooks.slack.com is not',
    ],
    [
      'another service’s topic',
      `  sns: [{ topicArn: "arn:aws:sns:eu-west-1:123456789012:deploys-billing" }]\n`,
      `notify.sns[0].topicArn: tenant rule "SNS topics and event buses the platform lists": topic arn:aws:sns:eu-west-1:123456789012:deploys-billing is not one the platform lets application web publish to (allowedNotifyTopics: deploys-web, arn:aws:sns:eu-west-1:123456789012:shared-*)`,
    ],
    [
      'a listed topic name in another account, by a full ARN pattern',
      `  sns: [{ topicArn: "arn:aws:sns:eu-west-1:999999999999:shared-alerts" }]\n`,
      'notify.sns[0].topicArn: tenant rule "SNS topics and event buses the platform lists": topic arn:aws:sns:eu-west-1:999999999999:shared-alerts is not one the platform lets',
    ],
    [
      'the account’s default bus, which the platform did not list',
      `  eventbridge: [{ source: greenlight }]\n`,
      `notify.eventbridge[0].eventBusName: tenant rule "SNS topics and event buses the platform lists": event bus default is not one the platform lets application web put events on (allowedEventBuses: greenlight-web)`,
    ],
  ])('refuses %s, naming the field and the rule', async (_, notify, message) => {
    const load = loadAs(web, notify);
    await expect(load).rejects.toThrow(`${source(count)}: ${message}`);
    const error = (await load.catch((err: unknown) => err)) as Error;
    expect(error.message).not.toMatch(/credential-\d+/);
  });

  it('allows plain http only to a host the allow-list names exactly, not through a wildcard', async () => {
    const refused = loadAs(
      web,
      `  webhook: [{ url: "http://localhost:9/hook", secret: "0123456789abcdef" }]\n`,
    );
    await expect(refused).rejects.toThrow(
      /a webhook on localhost is not on the platform's notification allow-list/,
    );
    const rules = tenantRulesFor(web, { ...platform, allowedNotifyHosts: ['*.acme.example'] });
    const { checkTenantNotify } = await import('../../config/tenant-notify');
    const notify = (url: string) => ({
      on: ['failed' as const],
      timeoutMs: 5_000,
      sns: [],
      eventbridge: [],
      slack: [],
      webhook: [{ url, secret: '0123456789abcdef' }],
    });
    expect(() => checkTenantNotify(notify('http://a.acme.example/x'), rules, 's3://b/k.yml')).toThrow(
      's3://b/k.yml: notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": plain http to a.acme.example is allowed only to a host the platform\'s notification allow-list names exactly (allowedNotifyHosts: *.acme.example); use https',
    );
    expect(() => checkTenantNotify(notify('https://a.acme.example/x'), rules, 's3://b/k.yml')).not.toThrow();
  });

  it('fills the lists per service, and leaves out an entry a service cannot fill', () => {
    expect(tenantRulesFor(web, platform)).toMatchObject({
      tenant: 'application web',
      prefix: 'greenlight/web/',
      notifyTopics: ['deploys-web', 'arn:aws:sns:eu-west-1:123456789012:shared-*'],
      eventBuses: ['greenlight-web'],
    });
    const cart = { application: 'cart', deploymentGroup: 'shop', cluster: 'shop', service: 'cart' };
    expect(tenantRulesFor(cart, platform)).toMatchObject({
      tenant: 'service shop/cart',
      eventBuses: ['greenlight-cart', 'shop-events'],
    });
  });

  it('judges a webhook only by the notification list: the checks’ allow-list does not admit it', async () => {
    await expect(
      loadAs(web, `  webhook: [{ url: "https://api.web.internal/hook", secret: "0123456789abcdef" }]\n`),
    ).rejects.toThrow(/a webhook on api\.web\.internal is not on the platform's notification allow-list/);
  });
});

describe('checkTenantHosts', () => {
  const rules: TenantRules = {
    tenant: 'application web',
    prefix: 'greenlight/web/',
    allowedHosts: ['*.web.internal'],
  };
  const doc = (checks: Record<string, unknown>) => ({
    targets: { test: 'http://auto.greenlight.invalid/' },
    checks,
  });

  it.each([
    ['a database URL', { db: { url: 'postgres://app@10.0.0.9:5432/app' } }, 'checks.db.url', 'host 10.0.0.9'],
    [
      'a session store host',
      { sessions: { store: { host: 'cache.billing.internal' } } },
      'checks.sessions.store.host',
      'host cache.billing.internal',
    ],
    [
      'an absolute request URL',
      { smoke: { requests: [{ url: 'http://169.254.169.254/latest' }] } },
      'checks.smoke.requests[0].url',
      'host 169.254.169.254',
    ],
    [
      'a request URL built at run time',
      { smoke: { requests: [{ url: '${next}' }] } },
      'checks.smoke.requests[0].url',
      'is not an absolute URL',
    ],
    [
      'a path that leaves its target',
      { smoke: { requests: [{ path: '//10.0.0.1/x' }] } },
      'checks.smoke.requests[0].path',
      'is not an absolute URL',
    ],
  ])('refuses %s', (_, checks, path, what) => {
    expect(() => checkTenantHosts(doc(checks), rules, 's3://b/k.yml')).toThrow(
      `s3://b/k.yml: ${path}: tenant rule`,
    );
    expect(() => checkTenantHosts(doc(checks), rules, 's3://b/k.yml')).toThrow(what);
  });

  it('refuses following redirects, which could lead off the allow-list', () => {
    expect(() =>
      checkTenantHosts(
        doc({ smoke: { requests: [{ path: '/', followRedirects: true }] } }),
        rules,
        's3://b/k.yml',
      ),
    ).toThrow(
      's3://b/k.yml: checks.smoke.requests[0].followRedirects: tenant rule "hosts on the platform’s allow-list": followRedirects: a redirect may lead to any host; leave redirects off',
    );
    expect(() =>
      checkTenantHosts(
        doc({ smoke: { requests: [{ path: '/', followRedirects: false }] } }),
        rules,
        's3://b/k.yml',
      ),
    ).not.toThrow();
  });

  it('lets allowed hosts and "auto" through', () => {
    expect(() =>
      checkTenantHosts(
        doc({
          db: { url: 'postgres://app@db.web.internal/app' },
          s: { store: { host: 'cache.web.internal' } },
        }),
        rules,
        's3://b/k.yml',
      ),
    ).not.toThrow();
  });
});
