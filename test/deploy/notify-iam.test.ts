// The hooks' role gets sns:Publish and events:PutEvents on exactly what the notify: sections name.
/* eslint-disable @typescript-eslint/no-require-imports */
const { analyseConfig, analyseNotifyDefaults } = require('../../deploy/config-analysis.js') as {
  analyseConfig(
    text: string,
    source: string,
  ): Record<string, unknown> & { snsTopics: string[]; eventBuses: string[] };
  analyseNotifyDefaults(
    text: string | undefined,
    source: string,
  ): { snsTopics: string[]; eventBuses: string[] };
};
const { iamStatements } = require('../../deploy/iam-statements.js') as {
  iamStatements(
    analysis: unknown,
    options: { application: string; deploymentGroup: string; ecsHook: boolean },
  ): Array<{ Action: string[]; Resource: unknown }>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:deployments';
const group = { application: 'web', deploymentGroup: 'web-prod', ecsHook: false };
const sub = (text: string) => ({ 'Fn::Sub': text });

function statementsFor(notify: string) {
  return iamStatements(analyseConfig(`targets: { test: "http://alb" }\n${notify}`, 'greenlight.yml'), group);
}

describe('notification permissions', () => {
  it('grants sns:Publish on the configured topics and events:PutEvents on the buses, by name or ARN', () => {
    const statements = statementsFor(`notify:
  sns: [{ topicArn: "${TOPIC}" }]
  eventbridge:
    - {}
    - { eventBusName: deployments }
    - { eventBusName: "arn:aws:events:eu-west-1:123456789012:event-bus/central" }
  slack: [{ webhookUrl: "\${secretsmanager:web/slack}" }]
`);

    expect(statements.find((s) => s.Action.includes('sns:Publish'))!.Resource).toEqual([TOPIC]);
    expect(statements.find((s) => s.Action.includes('events:PutEvents'))!.Resource).toEqual([
      'arn:aws:events:eu-west-1:123456789012:event-bus/central',
      sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
      sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/deployments'),
    ]);
  });

  it('grants neither without sns or eventbridge channels', () => {
    const actions = statementsFor(
      'notify:\n  webhook: [{ url: "https://x.example", secret: "0123456789abcdef" }]\n',
    ).flatMap((s) => s.Action);

    expect(actions).not.toContain('sns:Publish');
    expect(actions).not.toContain('events:PutEvents');
  });

  it('grants a topic given as a reference on every topic of the account and region, the only grant that can hold it', () => {
    const statements = statementsFor('notify:\n  sns: [{ topicArn: "${ssm:/web/topic}" }]\n');

    expect(statements.find((s) => s.Action.includes('sns:Publish'))!.Resource).toEqual([
      sub('arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*'),
    ]);
  });

  it('reads the platform defaults as JSON or YAML, and names the param when they are not a mapping', () => {
    expect(
      analyseNotifyDefaults(JSON.stringify({ sns: [{ topicArn: TOPIC }] }), 'param notifyDefaults'),
    ).toEqual({
      snsTopics: [TOPIC],
      eventBuses: [],
    });
    expect(analyseNotifyDefaults('eventbridge:\n  - eventBusName: central\n', 'p')).toEqual({
      snsTopics: [],
      eventBuses: ['central'],
    });
    expect(analyseNotifyDefaults('', 'p')).toEqual({ snsTopics: [], eventBuses: [] });
    expect(() => analyseNotifyDefaults('[1, 2]', 'param notifyDefaults')).toThrow(
      'param notifyDefaults: expected a notify: mapping (sns, eventbridge, slack, webhook)',
    );
  });
});

export {};
