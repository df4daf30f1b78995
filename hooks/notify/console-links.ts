/** What the links are built from: the event's deployment. */
export interface LinkedDeployment {
  platform: 'codedeploy' | 'ecs';
  id?: string;
  resourceArn?: string;
  cluster?: string;
  service?: string;
}

/** Where a reader of a notification goes next. */
export interface DeploymentLinks {
  /** The deployment in the CodeDeploy console, or the service's deployments in the ECS console. */
  console?: string;
  /** A CloudWatch Logs Insights query for the hook's lines about this deployment. */
  logsInsights?: { logGroup: string; query: string; url: string };
}

/** The console's host for a region's partition. */
function consoleHost(region: string): string {
  if (region.startsWith('cn-')) return 'console.amazonaws.cn';
  if (region.startsWith('us-gov-')) return 'console.amazonaws-us-gov.com';
  return `${region}.console.aws.amazon.com`;
}

/** Cluster and service from a service ARN or a service deployment ARN (long ARN format). */
export function clusterAndService(arn: string | undefined): { cluster: string; service: string } | undefined {
  const match = arn && /:(?:service|service-deployment)\/([^/]+)\/([^/]+)/.exec(arn);
  return match ? { cluster: match[1]!, service: match[2]! } : undefined;
}

/**
 * The Logs Insights console reads its query from the fragment in its own encoding: values are
 * percent-encoded with `*` for `%`, strings start with `'`, objects and lists are `~(...)` with
 * `~` between members; the whole is escaped, prefixed with `?queryDetail=`, percent-encoded
 * again and every `%` written `$`.
 */
function insightsFragment(detail: Record<string, string | number | string[]>): string {
  const value = (v: string | number) =>
    typeof v === 'number' ? String(v) : `'${encodeURIComponent(v).replace(/%/g, '*')}`;
  const members = Object.entries(detail).map(
    ([key, v]) => `${key}~${Array.isArray(v) ? `(~${v.map(value).join('~')})` : value(v)}`,
  );
  const object = `~(${members.join('~')})`;
  return encodeURIComponent(`?queryDetail=${escape(object)}`).replace(/%/g, '$');
}

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Console links for a deployment: from `AWS_REGION` and, for the Logs Insights query, the
 * function's own log group (`AWS_LAMBDA_LOG_GROUP_NAME`, set by Lambda). A link whose parts are
 * unknown is left out.
 */
export function deploymentLinks(deployment: LinkedDeployment, env: NodeJS.ProcessEnv): DeploymentLinks {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region || !/^[a-z0-9-]+$/.test(region)) return {};
  const host = consoleHost(region);
  const links: DeploymentLinks = {};
  if (deployment.platform === 'codedeploy' && deployment.id) {
    links.console = `https://${host}/codesuite/codedeploy/deployments/${encodeURIComponent(deployment.id)}?region=${region}`;
  } else if (deployment.platform === 'ecs') {
    const named =
      deployment.cluster && deployment.service
        ? { cluster: deployment.cluster, service: deployment.service }
        : clusterAndService(deployment.resourceArn);
    if (named) {
      links.console = `https://${host}/ecs/v2/clusters/${encodeURIComponent(named.cluster)}/services/${encodeURIComponent(named.service)}/deployments?region=${region}`;
    }
  }
  const logGroup = env.AWS_LAMBDA_LOG_GROUP_NAME;
  if (logGroup && deployment.id) {
    const field = deployment.platform === 'ecs' ? 'executionId' : 'deploymentId';
    const query = [
      'fields @timestamp, level, message, reason, check.name, check.outcome',
      `filter ${field} = ${quoted(deployment.id)}`,
      'sort @timestamp asc',
      'limit 500',
    ].join('\n| ');
    const fragment = insightsFragment({
      end: 0,
      start: -86_400,
      timeType: 'RELATIVE',
      unit: 'seconds',
      editorString: query,
      source: [logGroup],
    });
    links.logsInsights = {
      logGroup,
      query,
      url: `https://${host}/cloudwatch/home?region=${region}#logsV2:logs-insights${fragment}`,
    };
  }
  return links;
}
