import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsJsonServer } from '../../support/aws-json-server';
import { worldClients } from '../../support/aws-world';
import type { WatchClock } from '../../../watch/watch-clock';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'watch');

/** Recorded API answers are free-form JSON that each step edits. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON
export type Doc = Record<string, any>;

/** A recorded API answer from test/fixtures/watch, as a fresh object to change per step. */
export function fixture<T = Doc>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as T;
}

/** A local ECS: JSON 1.1 with the AmazonEC2ContainerServiceV20141113 target prefix. */
export function ecsServer(): AwsJsonServer {
  return new AwsJsonServer({
    targetPrefix: 'AmazonEC2ContainerServiceV20141113',
    contentType: 'application/x-amz-json-1.1',
  });
}

/**
 * Time that moves only when the watch sleeps: each sleep adds its length at once, then runs
 * `onSleep` (where a test may change the world), so no test waits for real time.
 */
export function virtualClock(
  start = '2026-01-01T12:00:00Z',
  onSleep?: (now: number) => void | Promise<void>,
) {
  let now = Date.parse(start);
  const clock: WatchClock & { sleeps: number } = {
    sleeps: 0,
    now: () => now,
    async sleep(ms) {
      now += ms;
      clock.sleeps++;
      await onSleep?.(now);
    },
  };
  return clock;
}

/** A target group in moto with `ips` registered (moto reports registered targets healthy). */
export async function motoTargetGroup(endpoint: string, name: string, ips: string[]): Promise<string> {
  const aws = worldClients(endpoint);
  const vpcId = (await aws.ec2.send(new DescribeSubnetsCommand({}))).Subnets![0]!.VpcId!;
  const arn = (
    await aws.elbv2.send(
      new CreateTargetGroupCommand({
        Name: name,
        Protocol: 'HTTP',
        Port: 8080,
        VpcId: vpcId,
        TargetType: 'ip',
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  if (ips.length) {
    await aws.elbv2.send(
      new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: ips.map((Id) => ({ Id, Port: 8080 })) }),
    );
  }
  return arn;
}

const ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_ECS',
  'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2',
  'AWS_ENDPOINT_URL_CLOUDWATCH',
  'AWS_ENDPOINT_URL_CODEDEPLOY',
  'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
] as const;

/** Points the SDK clients the command creates at these endpoints; returns the restore. */
export function useEndpoints(
  endpoints: Partial<Record<(typeof ENDPOINT_VARIABLES)[number], string>>,
): () => void {
  const saved = ENDPOINT_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of ENDPOINT_VARIABLES) {
    if (endpoints[name]) process.env[name] = endpoints[name];
    else delete process.env[name];
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
