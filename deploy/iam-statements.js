'use strict';
/** The hook role's IAM statements, each scoped to what greenlight.yml uses (see config-analysis.js). */

/** A CloudFormation `Fn::Sub`. */
function sub(text) {
  return { 'Fn::Sub': text };
}

/** Reads for check types that call AWS (types absent here call nothing but their target). */
const CHECK_TYPE_PERMISSIONS = {
  // Scoped to `alarm:*`, DescribeAlarms leaves composite alarms out of its answer: AWS returns them
  // only to a grant on `*`.
  alarms: [{ actions: ['cloudwatch:DescribeAlarms'], resource: '*' }],
  // GetMetricData cannot be scoped to a resource.
  metrics: [{ actions: ['cloudwatch:GetMetricData'], resource: '*' }],
  'target-groups': [{ actions: ['cloudwatch:GetMetricData'], resource: '*' }],
};
function secretArn(id) {
  if (id.startsWith('arn:')) return id;
  // Secrets Manager appends a dash and six random characters to the name in the ARN.
  return sub(`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${id}-??????`);
}

function parameterArn(name) {
  if (name.startsWith('arn:')) return name;
  return sub(
    `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
  );
}

/**
 * The role's statements for this config. `group` is `{ application, deploymentGroup }`;
 * `ecsHook` says whether the ECS lifecycle hook is deployed.
 */
function iamStatements(analysis, { application, deploymentGroup, ecsHook, kmsKeyArn }) {
  const groupArn = sub(
    `arn:\${AWS::Partition}:codedeploy:\${AWS::Region}:\${AWS::AccountId}:deploymentgroup:${application}/${deploymentGroup}`,
  );
  const codedeployActions = ['codedeploy:PutLifecycleEventHookExecutionStatus', 'codedeploy:GetDeployment'];
  const discovers = analysis.autoTargets.length > 0 || (analysis.discoveringChecks ?? []).length > 0;
  // A failed http check adds green's tasks' diagnosis (hooks/green-diagnosis.ts), which finds them
  // through the deployment group and the service's task sets.
  const diagnosesGreen = analysis.greenDiagnosis === true;
  // The ECS hook's does the same from the target service revision (hooks/ecs-green-diagnosis.ts).
  const ecsDiagnosesGreen = ecsHook === true && analysis.ecsGreenDiagnosis === true;
  if (discovers || diagnosesGreen) codedeployActions.push('codedeploy:GetDeploymentGroup');
  const statements = [{ Effect: 'Allow', Action: codedeployActions, Resource: [groupArn] }];

  if (discovers || diagnosesGreen) {
    statements.push({
      Effect: 'Allow',
      Action: ['ecs:DescribeServices'],
      Resource: [sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*')],
    });
  }
  if (discovers) {
    // ELBv2 Describe* actions cannot be scoped to a resource.
    statements.push({
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeLoadBalancers',
        // Only `auto` targets verify the test listener's rules.
        ...(analysis.autoTargets.length ? ['elasticloadbalancing:DescribeRules'] : []),
      ],
      Resource: '*',
    });
  }
  if (diagnosesGreen || ecsDiagnosesGreen) {
    // ListTasks is authorised against container instances, DescribeTasks against tasks (both carry
    // the ecs:cluster condition key); DescribeTargetHealth cannot be scoped to a resource.
    statements.push(
      {
        Effect: 'Allow',
        Action: ['ecs:ListTasks', 'ecs:DescribeTasks'],
        Resource: [
          sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:container-instance/*'),
          sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/*'),
        ],
      },
      { Effect: 'Allow', Action: ['elasticloadbalancing:DescribeTargetHealth'], Resource: '*' },
    );
  }
  if (ecsDiagnosesGreen) {
    statements.push({
      Effect: 'Allow',
      Action: ['ecs:DescribeServiceRevisions'],
      Resource: [sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-revision/*')],
    });
  }
  if (ecsHook) {
    // AWS authorises DescribeServiceDeployments against the service and the service deployment both.
    statements.push({
      Effect: 'Allow',
      Action: ['ecs:DescribeServiceDeployments'],
      Resource: [
        sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*'),
        sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/*'),
      ],
    });
  }

  const byResource = new Map();
  for (const type of analysis.checkTypes) {
    for (const grant of CHECK_TYPE_PERMISSIONS[type] ?? []) {
      const key = JSON.stringify(grant.resource);
      const actions = byResource.get(key) ?? new Set();
      grant.actions.forEach((a) => actions.add(a));
      byResource.set(key, actions);
    }
  }
  for (const [key, actions] of byResource) {
    const resource = JSON.parse(key);
    statements.push({
      Effect: 'Allow',
      Action: [...actions].sort(),
      Resource: resource === '*' ? '*' : [sub(resource)],
    });
  }

  // Recorded statements: the exact objects, never the bucket. Migration folders: their objects.
  const s3Objects = analysis.s3Objects ?? { read: [], write: [] };
  const folders = s3Objects.folders ?? [];
  const readable = [...s3Objects.read, ...folders.map((f) => `${f}*`)];
  if (readable.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: readable.map((o) => sub(`arn:\${AWS::Partition}:s3:::${o}`)),
    });
  }
  // ListBucket is authorised on the bucket; the s3:prefix condition key keeps it to the folder
  // the rehearsal lists (ListObjectsV2 with exactly that Prefix). One statement per bucket.
  const prefixes = new Map();
  for (const folder of folders) {
    const at = folder.indexOf('/');
    const bucket = folder.slice(0, at);
    prefixes.set(bucket, [...(prefixes.get(bucket) ?? []), folder.slice(at + 1)]);
  }
  for (const [bucket, list] of prefixes) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [sub(`arn:\${AWS::Partition}:s3:::${bucket}`)],
      Condition: { StringEquals: { 's3:prefix': list } },
    });
  }
  if (s3Objects.write.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: s3Objects.write.map((o) => sub(`arn:\${AWS::Partition}:s3:::${o}`)),
    });
  }

  if (analysis.secrets.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: analysis.secrets.map(secretArn),
    });
  }
  if (analysis.parameters.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: analysis.parameters.map(parameterArn),
    });
  }
  statements.push(...notifyStatements(analysis));
  if (kmsKeyArn && (analysis.secrets.length || analysis.parameters.length)) {
    // The key decrypts only what Secrets Manager or SSM hands the hook, not anything it is sent.
    const via = [
      ...(analysis.secrets.length ? ['secretsmanager'] : []),
      ...(analysis.parameters.length ? ['ssm'] : []),
    ];
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [kmsKeyArn],
      Condition: {
        StringEquals: { 'kms:ViaService': via.map((s) => sub(`${s}.\${AWS::Region}.amazonaws.com`)) },
      },
    });
  }
  return statements;
}

/** A value resolved only when the hook runs (`${ssm:...}`, say): its ARN is not known here. */
const REFERENCE = /\$\{[a-z][a-z0-9-]*:/;

/**
 * sns:Publish on the topics and events:PutEvents on the buses the `notify:` sections name (or
 * the platform lists: a topic or bus given by name is the stack's account and region's). A
 * topic or bus given as a reference can only be granted by pattern: every topic, or every bus,
 * of the stack's account and region.
 */
function notifyStatements(analysis) {
  const statements = [];
  const topics = analysis.snsTopics ?? [];
  const buses = analysis.eventBuses ?? [];
  if (topics.length) {
    const resources = topics.map((topic) => {
      if (REFERENCE.test(topic)) return sub('arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*');
      if (topic.startsWith('arn:')) return topic;
      return sub(`arn:\${AWS::Partition}:sns:\${AWS::Region}:\${AWS::AccountId}:${topic}`);
    });
    statements.push({ Effect: 'Allow', Action: ['sns:Publish'], Resource: dedupe(resources) });
  }
  if (buses.length) {
    const resources = buses.map((bus) => {
      if (REFERENCE.test(bus))
        return sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/*');
      if (bus.startsWith('arn:')) return bus;
      return sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${bus}`);
    });
    statements.push({ Effect: 'Allow', Action: ['events:PutEvents'], Resource: dedupe(resources) });
  }
  return statements;
}

function dedupe(resources) {
  const seen = new Set();
  return resources.filter((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

module.exports = { iamStatements, notifyStatements, sub };
