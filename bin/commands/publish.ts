import { readFile } from 'node:fs/promises';
import type { PutObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CheckType } from '../../checks/check-type';
import { describeConfigLocation, fillConfigLocation, isRemoteConfig } from '../../config/config-location';
import { parseTenantConfig } from '../../config/tenant-config';
import type { TenantRules } from '../../config/tenant-rules';
import { awsSecretResolvers } from '../../hooks/hook-config';
import { awsClientConfig, awsErrorName } from '../../lib/aws';
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { parseCommandArgs } from '../command-args';
import { subjectFromArgs, TENANT_ARG_OPTIONS, TENANT_ARG_USAGE, tenantRulesFromArgs } from '../tenant-args';
import { UsageError } from '../usage-error';
import { configPathFrom } from './check';
import { createValidateCommand } from './validate';

const OPTIONS = {
  config: { type: 'string' },
  to: { type: 'string' },
  ...TENANT_ARG_OPTIONS,
  probe: { type: 'boolean' },
  'deployment-id': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;
/** SSM's standard tier holds 4 KB; the advanced tier 8 KB (and costs). */
const SSM_STANDARD_BYTES = 4_096;

export interface PublishCommandOptions {
  checkTypes?: readonly CheckType[];
  s3?: Pick<S3Client, 'send'>;
  ssm?: Pick<SSMClient, 'send'>;
}

/**
 * `greenlight publish`: checks a service's config the way the platform hooks will load it (valid,
 * secrets resolvable, the tenant rules kept) and uploads it to the platform's location for that
 * service. An invalid config is refused and nothing is uploaded.
 */
export function createPublishCommand(options: PublishCommandOptions = {}): Command {
  const command: Command = {
    name: 'publish',
    summary: "Validate a service's config and upload it to the platform's S3 or SSM location.",
    usage:
      'greenlight publish --to LOCATION (--application APP --deployment-group GROUP | --cluster C --service S) [--config FILE] [--tenant-prefix P] [--allowed-hosts H,...] [--allowed-notify-hosts H,...] [--probe [--deployment-id ID]] [--dry-run]\n\n' +
      "  --to LOCATION        the platform stack's configLocation, e.g. s3://BUCKET/greenlight/{application}/{deploymentGroup}.yml\n" +
      TENANT_ARG_USAGE +
      '  --probe              also run `greenlight validate` (targets answer, contracts load, alarms exist)\n' +
      '  --dry-run            check only; upload nothing\n' +
      'exit codes: 0 published, 1 a probe or the upload failed, 2 usage error or invalid config',
    async run(args, io) {
      let values;
      let path: string;
      let location;
      let rules: TenantRules;
      try {
        values = parseCommandArgs(args, OPTIONS);
        const to = values.to as string | undefined;
        if (!to || !isRemoteConfig(to)) throw new UsageError('--to must be an s3://... or ssm:/... location');
        const subject = subjectFromArgs(values);
        path = configPathFrom(values.config as string | undefined, io);
        location = fillConfigLocation(to, subject);
        rules = tenantRulesFromArgs(values, subject, io.env);
      } catch (err) {
        if (!(err instanceof UsageError || err instanceof ConfigError)) throw err;
        io.stderr.write(`greenlight publish: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
        return EXIT_USAGE;
      }
      if (location.kind === 'file') return EXIT_USAGE;
      const where = describeConfigLocation(location);

      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        io.stderr.write(`greenlight publish: cannot read ${path}: ${errorMessage(err)}\n`);
        return EXIT_USAGE;
      }
      try {
        // As the platform hook loads it: tenant resolvers (with the caller's credentials), then the rules.
        await parseTenantConfig(text, {
          source: path,
          rules,
          resolvers: awsSecretResolvers,
          ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
        });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        io.stdout.write(`FAIL config: ${redactText(err.message)}\nnot published: ${where} is unchanged\n`);
        return EXIT_USAGE;
      }
      io.stdout.write(`ok   ${path} is valid for ${rules.tenant} under the platform's tenant rules\n`);

      if (values.probe) {
        const validateArgs = ['--config', path];
        if (values['deployment-id']) validateArgs.push('--deployment-id', values['deployment-id'] as string);
        const code = await createValidateCommand(
          options.checkTypes ? { checkTypes: options.checkTypes } : {},
        ).run(validateArgs, io);
        if (code !== EXIT_OK) {
          io.stdout.write(`not published: validate failed; ${where} is unchanged\n`);
          return code;
        }
      }
      if (values['dry-run']) {
        io.stdout.write(`dry run: would publish to ${where}\n`);
        return EXIT_OK;
      }
      try {
        if (location.kind === 's3') {
          const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
          const s3 =
            options.s3 ??
            new S3Client({ ...awsClientConfig(), forcePathStyle: !!io.env.AWS_ENDPOINT_URL_S3 });
          const out: PutObjectCommandOutput = await s3.send(
            new PutObjectCommand({
              Bucket: location.bucket,
              Key: location.key,
              Body: text,
              ContentType: 'application/yaml',
            }),
          );
          io.stdout.write(`published ${where} (ETag ${out.ETag ?? 'unknown'})\n`);
        } else {
          const { PutParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
          const ssm = options.ssm ?? new SSMClient(awsClientConfig());
          const bytes = Buffer.byteLength(text);
          const out = await ssm.send(
            new PutParameterCommand({
              Name: location.name,
              Value: text,
              Type: 'String',
              Overwrite: true,
              Tier: bytes > SSM_STANDARD_BYTES ? 'Advanced' : 'Standard',
            }),
          );
          io.stdout.write(`published ${where} (version ${out.Version ?? 'unknown'})\n`);
        }
      } catch (err) {
        const name = awsErrorName(err);
        io.stdout.write(
          `FAIL upload to ${where}: ${name && name !== 'Error' ? `${name}: ` : ''}${errorMessage(err, { cause: false })}\n`,
        );
        return EXIT_FAILED;
      }
      io.stdout.write('the platform hooks read it at their next config check (configTtlSeconds)\n');
      return EXIT_OK;
    },
  };
  return command;
}

export const publishCommand = createPublishCommand();
