import { CREDENTIAL_VARIABLES, hasAwsCredentials } from '../../lib/aws';
import type { PreflightContext, PreflightLine } from '../check-type';
import { failureMessage, type CloudWatchProvider } from '../cloudwatch/client';
import { alarmsByName, describeAll } from './describe-alarms';

/**
 * One line per configured alarm name and prefix: it exists (with its state now), or why not.
 * Existence only: an alarm in ALARM exists; judging its state is the check's job. Without AWS
 * credentials in the environment CloudWatch is not asked, and the line says so.
 */
export async function alarmsPreflight(
  options: { names?: string[] | undefined; prefixes?: string[] | undefined },
  ctx: PreflightContext,
  cloudWatch: CloudWatchProvider,
): Promise<PreflightLine[]> {
  const check = ctx.name;
  if (!hasAwsCredentials(ctx.env)) {
    const why = `no AWS credentials in the environment (none of ${CREDENTIAL_VARIABLES.join(', ')} is set), so CloudWatch was not asked whether its alarms exist`;
    return [{ status: 'skip', text: `alarms check ${check}: ${why}` }];
  }
  const names = options.names ?? [];
  const lines: PreflightLine[] = [];
  const { found, unasked } = await alarmsByName(await cloudWatch(), names, ctx.step, (batch, err) =>
    lines.push({
      status: 'fail',
      text: `alarms check ${check}: could not ask CloudWatch whether ${batch.join(', ')} exist: ${failureMessage(err)}`,
    }),
  );
  for (const name of names.filter((n) => !unasked.has(n))) {
    const state = found.get(name)?.state;
    lines.push(
      state
        ? { status: 'ok', text: `alarm ${name} of alarms check ${check} exists (now ${state})` }
        : {
            status: 'fail',
            text: `alarm ${name} of alarms check ${check} does not exist: DescribeAlarms found no metric or composite alarm by that name (check the spelling and the region)`,
          },
    );
  }
  for (const prefix of options.prefixes ?? []) {
    const subject = `alarm prefix ${prefix} of alarms check ${check}`;
    try {
      const [first] = await describeAll(await cloudWatch(), { AlarmNamePrefix: prefix }, ctx.step());
      lines.push(
        first
          ? { status: 'ok', text: `${subject} matches ${first.name} (now ${first.state})` }
          : { status: 'fail', text: `${subject} matches no alarm (DescribeAlarms found none)` },
      );
    } catch (err) {
      lines.push({ status: 'fail', text: `${subject}: could not ask CloudWatch: ${failureMessage(err)}` });
    }
  }
  return lines;
}
