'use strict';

/**
 * Serverless plugin for the greenlight hooks. When the stack is packaged it:
 * - fails if a function name passes Lambda's 64-character limit, or if a CodeDeploy hook is not
 *   named `CodeDeployHook_*` (the managed role AWSCodeDeployRoleForECSLimited may invoke only those);
 * - fails if a function's timeout leaves no room for the checks after the report reserve, or if a
 *   function that runs a migration-rehearsal check has less memory than PGlite needs;
 * - derives the role's statements from greenlight.yml: CodeDeploy actions on the deployment
 *   group ARN built from params, discovery reads only when a target is `auto` or a check has
 *   `discover: true`, CloudWatch reads only for the check types that use them, and
 *   GetSecretValue / GetParameter on exactly the secrets and parameters the file references;
 * - sets the VPC from the `subnetIds` / `securityGroupIds` params (both or neither);
 * - refuses a `runtime` other than nodejs22.x / nodejs24.x, before anything is bundled;
 * - sends every function's failed asynchronous invocations to a queue it creates (or to the
 *   `failureDestinationArn` given), alarms on the functions' Errors and Throttles, and creates the
 *   role ECS assumes to invoke the ECS hook, exported with the hook's ARN.
 * Everything is computed offline from the files and params: no AWS call, no credentials.
 */
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const {
  MIGRATION_REHEARSAL,
  analyseConfig,
  analyseNotifyDefaults,
  awsSdkSource,
  handlerEvents,
} = require('./config-analysis');
const { gateResources } = require('./gate-resources');
const { iamStatements } = require('./iam-statements');
const { recompressZip } = require('./recompress-zips');
const {
  FAILURE_DESTINATION_ARN,
  SNS_TOPIC_ARN,
  failureDestination,
  stackResources,
} = require('./stack-resources');
const {
  platformEnvironment,
  platformIamStatements,
  platformSettings,
  splitList,
  stackMode,
} = require('./platform-stack');

const MAX_FUNCTION_NAME = 64;
const FUNCTION_NAME = /^[A-Za-z0-9_-]+$/;
const CODEDEPLOY_PREFIX = 'CodeDeployHook_';
const ECS_HANDLER = 'handlers/ecs-lifecycle-hook.handler';
/** The checks need at least this much of a function's time once the report reserve is set aside. */
const MIN_CHECK_BUDGET_MS = 5_000;
/**
 * The least memory of a function that runs a migration-rehearsal check (PGlite runs inside it;
 * checks/migration-rehearsal/run-migration-rehearsal.ts refuses to start below it too): Lambda
 * stops a function past its memory before it can report, which stalls the deployment for an hour.
 */
const REHEARSAL_MIN_MEMORY_MB = 1024;
/** The Lambda runtimes the hooks are built and tested for. */
const RUNTIMES = ['nodejs22.x', 'nodejs24.x'];

/** Problems with the functions' names and timeouts, one line each. */
function functionProblems(functions, reportReserveMs) {
  const problems = [];
  for (const [key, fn] of Object.entries(functions)) {
    const name = fn.name ?? key;
    if (name.length > MAX_FUNCTION_NAME) {
      problems.push(
        `function ${key}: name "${name}" is ${name.length} characters; Lambda allows ${MAX_FUNCTION_NAME}. Use a shorter service or stage name.`,
      );
    } else if (!FUNCTION_NAME.test(name)) {
      problems.push(`function ${key}: name "${name}" may contain only letters, digits, "-" and "_"`);
    }
    if (fn.handler !== ECS_HANDLER && !name.startsWith(CODEDEPLOY_PREFIX)) {
      problems.push(
        `function ${key}: CodeDeploy hook name "${name}" must start with ${CODEDEPLOY_PREFIX} (AWSCodeDeployRoleForECSLimited may invoke only those)`,
      );
    }
    const memoryMb = Number(fn.memorySize);
    if (fn.rehearses && Number.isFinite(memoryMb) && memoryMb < REHEARSAL_MIN_MEMORY_MB) {
      problems.push(
        `function ${key}: memorySize ${fn.memorySize} MiB is too small for its ${MIGRATION_REHEARSAL} check, which runs PostgreSQL (PGlite) inside the function; set param memorySize to ${REHEARSAL_MIN_MEMORY_MB} or more`,
      );
    }
    const timeoutMs = Number(fn.timeout) * 1000;
    if (Number.isFinite(timeoutMs) && timeoutMs < reportReserveMs + MIN_CHECK_BUDGET_MS) {
      problems.push(
        `function ${key}: timeout ${fn.timeout} s leaves less than ${MIN_CHECK_BUDGET_MS / 1000} s for checks after runner.reportReserveMs (${reportReserveMs} ms)`,
      );
    }
  }
  return problems;
}

/** Problems with the params that shape the stack around the functions, one line each. */
function paramProblems({ runtime, failureDestinationArn, alarmActionArn }) {
  const problems = [];
  if (!RUNTIMES.includes(runtime)) {
    problems.push(`param runtime must be ${RUNTIMES.join(' or ')}, got ${JSON.stringify(runtime ?? '')}`);
  }
  if (failureDestinationArn && !FAILURE_DESTINATION_ARN.test(failureDestinationArn)) {
    problems.push(
      `param failureDestinationArn must be the ARN of a standard SQS queue or SNS topic (arn:aws:sqs:REGION:ACCOUNT:NAME), or empty for the stack's own queue; got ${JSON.stringify(failureDestinationArn)}`,
    );
  }
  if (alarmActionArn && !SNS_TOPIC_ARN.test(alarmActionArn)) {
    problems.push(
      `param alarmActionArn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), or empty for no action; got ${JSON.stringify(alarmActionArn)}`,
    );
  }
  return problems;
}

class GreenlightPlugin {
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = (utils && utils.log) || { notice: (message) => serverless.cli.log(message) };
    this.hooks = {
      // Before serverless-esbuild's own `initialize` (the plugin is listed first), which stops at a
      // runtime it cannot bundle for with a bare assertion; then the settings every command that
      // bundles (package, deploy, invoke local) bundles with.
      initialize: () => {
        this.checkParams();
        this.configureBundles();
      },
      'before:package:initialize': () => this.prepare(),
      // serverless-esbuild zips in before:package:createDeploymentArtifacts, at zlib level 1.
      'after:package:createDeploymentArtifacts': () => this.recompressArtifacts(),
    };
  }

  /** Passes the configFile and awsSdk params to deploy/esbuild-plugins.js, which reads them when it bundles. */
  configureBundles() {
    const settings = (this.serverless.service.custom && this.serverless.service.custom.greenlight) || {};
    const configFile = settings.config || 'greenlight.yml';
    process.env.GREENLIGHT_BUNDLE_CONFIG = resolve(
      this.serverless.serviceDir || this.serverless.config.servicePath,
      configFile,
    );
    try {
      process.env.GREENLIGHT_AWS_SDK = awsSdkSource(settings.awsSdk || undefined);
      // A platform stack's bundles carry every check type: the configs are read at run time.
      if (stackMode(settings.mode) === 'platform') process.env.GREENLIGHT_BUNDLE_ALL = '1';
      else delete process.env.GREENLIGHT_BUNDLE_ALL;
      // The platform's default notify: channels (param notifyDefaults): their SNS and EventBridge clients stay in.
      const environment = this.serverless.service.provider.environment || {};
      process.env.GREENLIGHT_BUNDLE_NOTIFY_DEFAULTS = environment.GREENLIGHT_NOTIFY || '';
      // A per-service stack that sets GREENLIGHT_BREAK_GLASS_PREFIX keeps the break-glass lookup.
      if (environment.GREENLIGHT_BREAK_GLASS_PREFIX) process.env.GREENLIGHT_BUNDLE_BREAK_GLASS = '1';
      else delete process.env.GREENLIGHT_BUNDLE_BREAK_GLASS;
    } catch (err) {
      this.fail(err.message);
    }
  }

  fail(message) {
    const text = message
      .split('\n')
      .map((line) => `greenlight: ${line}`)
      .join('\n');
    const ServerlessError = this.serverless.classes && this.serverless.classes.Error;
    throw ServerlessError ? new ServerlessError(text, 'GREENLIGHT_PACKAGE') : new Error(text);
  }

  /** Each function's zip written again at zlib level 9 (deploy/recompress-zips.js). */
  async recompressArtifacts() {
    const service = this.serverless.service;
    const root = this.serverless.serviceDir || this.serverless.config.servicePath;
    const zips = new Set(
      service
        .getAllFunctions()
        .map((key) => service.getFunction(key).package?.artifact)
        .filter((artifact) => typeof artifact === 'string' && artifact.endsWith('.zip'))
        .map((artifact) => resolve(root, artifact)),
    );
    let before = 0;
    let after = 0;
    for (const zip of zips) {
      const [was, is] = await recompressZip(zip);
      before += was;
      after += is;
    }
    if (zips.size)
      this.log.notice(
        `greenlight: ${zips.size} zips recompressed at level 9, ${Math.round(before / 1024)} KB -> ${Math.round(after / 1024)} KB`,
      );
  }

  /** The params that shape the stack around the functions, as serverless resolved them. */
  stackSettings() {
    const service = this.serverless.service;
    const settings = (service.custom && service.custom.greenlight) || {};
    return {
      runtime: service.provider.runtime,
      failureDestinationArn: settings.failureDestinationArn || '',
      alarmActionArn: settings.alarmActionArn || '',
    };
  }

  checkParams() {
    const problems = paramProblems(this.stackSettings());
    if (problems.length) this.fail(problems.join('\n'));
  }

  prepare() {
    const service = this.serverless.service;
    const settings = (service.custom && service.custom.greenlight) || {};
    if (stackMode(settings.mode) === 'platform') return this.preparePlatform(settings);
    const configFile = settings.config || 'greenlight.yml';
    const configPath = resolve(this.serverless.serviceDir || this.serverless.config.servicePath, configFile);
    let text;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      this.fail(
        `cannot read ${configFile} (param configFile): ${err.code === 'ENOENT' ? 'file not found' : err.message}`,
      );
    }
    let analysis;
    try {
      analysis = analyseConfig(text, configFile);
      // The platform's default notify: section (param notifyDefaults) sends to its own topics and buses.
      const defaults = analyseNotifyDefaults(
        (service.provider.environment || {}).GREENLIGHT_NOTIFY,
        'param notifyDefaults (GREENLIGHT_NOTIFY)',
      );
      analysis.snsTopics = [...new Set([...analysis.snsTopics, ...defaults.snsTopics])].sort();
      analysis.eventBuses = [...new Set([...analysis.eventBuses, ...defaults.eventBuses])].sort();
    } catch (err) {
      this.fail(err.message);
    }

    const functions = this.functionsOf(service);
    for (const fn of Object.values(functions))
      fn.rehearses = this.runsRehearsal(fn.handler, text, configFile);
    const problems = functionProblems(functions, analysis.reportReserveMs);
    if (problems.length) this.fail(problems.join('\n'));

    for (const [field, value] of [
      ['application', settings.application],
      ['deploymentGroup', settings.deploymentGroup],
    ]) {
      if (!value || !/^[A-Za-z0-9_.+@-]+$/.test(String(value))) {
        this.fail(
          `param ${field} must be a CodeDeploy ${field === 'application' ? 'application' : 'deployment group'} name, got ${JSON.stringify(value ?? '')}`,
        );
      }
    }

    this.applyVpc(settings);

    const ecsHook = Object.values(functions).some((fn) => fn.handler === ECS_HANDLER);
    const statements = iamStatements(analysis, {
      application: settings.application,
      deploymentGroup: settings.deploymentGroup,
      ecsHook,
      kmsKeyArn: settings.kmsKeyArn || undefined,
    });
    service.provider.iam = service.provider.iam || {};
    service.provider.iam.role = service.provider.iam.role || {};
    service.provider.iam.role.statements = [...(service.provider.iam.role.statements || []), ...statements];
    this.finishStack(functions, analysis.gated);
    this.log.notice(
      `greenlight: ${statements.length} IAM statements from ${configFile} (check types: ${analysis.checkTypes.join(', ') || 'none'}; secrets: ${analysis.secrets.length}; parameters: ${analysis.parameters.length})`,
    );
  }

  /** The functions with their names, handlers, timeouts and memory, for the checks on them. */
  functionsOf(service) {
    const functions = {};
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      functions[key] = {
        name: fn.name,
        handler: fn.handler,
        timeout: fn.timeout ?? service.provider.timeout,
        memorySize: fn.memorySize ?? service.provider.memorySize,
      };
    }
    return functions;
  }

  /** Whether the handler's lifecycle events run a migration-rehearsal check of the config. */
  runsRehearsal(handler, text, configFile) {
    const file = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
    const runs = handlerEvents(
      resolve(this.serverless.serviceDir || this.serverless.config.servicePath, file),
    );
    return analyseConfig(text, configFile, runs ? { runs } : {}).checkTypes.includes(MIGRATION_REHEARSAL);
  }

  /** The VPC from the subnetIds / securityGroupIds params. */
  applyVpc(settings) {
    const subnets = splitList(settings.subnetIds);
    const securityGroups = splitList(settings.securityGroupIds);
    if (subnets.length !== 0 || securityGroups.length !== 0) {
      if (subnets.length === 0 || securityGroups.length === 0) {
        this.fail('params subnetIds and securityGroupIds go together: set both (comma-separated) or neither');
      }
      this.serverless.service.provider.vpc = { subnetIds: subnets, securityGroupIds: securityGroups };
    }
  }

  /**
   * Platform mode (deploy/platform-stack.js): no packaged config; the role is scoped to the listed
   * deployment groups and services, and the functions read each service's config at run time.
   */
  preparePlatform(settings) {
    const service = this.serverless.service;
    const { problems, settings: platform } = platformSettings(settings);
    if (problems.length) this.fail(problems.join('\n'));
    const functions = this.functionsOf(service);
    const functionIssues = functionProblems(functions, 10_000);
    if (functionIssues.length) this.fail(functionIssues.join('\n'));
    this.applyVpc(settings);
    let notifyDefaults;
    try {
      // The platform's default notify: channels (param notifyDefaults) publish to their own topics and buses.
      notifyDefaults = analyseNotifyDefaults(
        (service.provider.environment || {}).GREENLIGHT_NOTIFY,
        'param notifyDefaults (GREENLIGHT_NOTIFY)',
      );
    } catch (err) {
      this.fail(err.message);
    }
    const statements = platformIamStatements(platform, {
      kmsKeyArn: settings.kmsKeyArn || undefined,
      notifyDefaults,
    });
    service.provider.iam = service.provider.iam || {};
    service.provider.iam.role = service.provider.iam.role || {};
    service.provider.iam.role.statements = [...(service.provider.iam.role.statements || []), ...statements];
    service.provider.environment = { ...service.provider.environment, ...platformEnvironment(platform) };
    // Any service's config may have a bake window or an approval: the state table is always there.
    this.finishStack(functions, true);
    this.log.notice(
      `greenlight: platform mode, configs from ${platform.configLocation}; ${statements.length} IAM statements for ${platform.deploymentGroups.length} deployment groups and ${platform.ecsServices.length} ECS services`,
    );
  }

  /**
   * Failure destinations, alarms and the ECS invoke role, the same in both modes; with `gated`,
   * the state table of bake windows and approvals (deploy/gate-resources.js).
   */
  finishStack(functions, gated) {
    const service = this.serverless.service;
    const stackSettings = this.stackSettings();
    const gate = gated
      ? gateResources({
          service: service.service,
          stage: this.serverless.getProvider('aws').getStage(),
          functionNames: Object.values(functions).map((fn) => fn.name),
        })
      : undefined;
    if (gate) {
      service.provider.iam.role.statements.push(...gate.statements);
      service.provider.environment = { ...gate.environment, ...service.provider.environment };
    }
    // One object for every function: serverless then grants sending to it once.
    const onFailure = failureDestination(stackSettings.failureDestinationArn);
    const naming = this.serverless.getProvider('aws').naming;
    for (const key of Object.keys(functions)) {
      const fn = service.getFunction(key);
      fn.destinations = {
        ...fn.destinations,
        onFailure: (fn.destinations && fn.destinations.onFailure) || onFailure,
      };
    }
    const ecsKey = Object.keys(functions).find((key) => functions[key].handler === ECS_HANDLER);
    const { resources, outputs } = stackResources({
      service: service.service,
      stage: this.serverless.getProvider('aws').getStage(),
      functionIds: Object.keys(functions).map((key) => naming.getLambdaLogicalId(key)),
      ecsHookId: ecsKey && naming.getLambdaLogicalId(ecsKey),
      ...stackSettings,
    });
    service.resources = service.resources || {};
    service.resources.Resources = {
      ...resources,
      ...(gate ? gate.resources : {}),
      ...service.resources.Resources,
    };
    service.resources.Outputs = { ...outputs, ...service.resources.Outputs };
  }
}

module.exports = GreenlightPlugin;
module.exports.functionProblems = functionProblems;
module.exports.paramProblems = paramProblems;
module.exports.stackResources = stackResources;
module.exports.failureDestination = failureDestination;
