// Reads the listeners and ECS blue/green listener rules that carry the deployment's traffic.
import type { Service } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ApiPacer } from './api-pacer';
import { listenerRuleView, listenerView } from './aws-views';
import type { NoteCall } from './watch-target';
import type { Evidence, ListenerView } from '../checks/diagnosis/evidence';

/** ECS lifecycle stages from the production traffic shift on. */
const SHIFTED_STAGES = new Set([
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
]);
const isShifted = (stage: string | undefined) => stage !== undefined && SHIFTED_STAGES.has(stage);

const defined = <T>(v: T | undefined): v is T => v !== undefined;

/**
 * The traffic side of a deployment: CodeDeploy's production and test listeners (DescribeListeners)
 * and ECS built-in blue/green's listener rules (DescribeRules), whose weights are the shift.
 */
export class ListenerReader {
  private listenerRoles = new Map<string, ListenerView['role']>();
  /** ECS built-in blue/green: the production and test listener rules the service shifts traffic with. */
  private ruleRoles = new Map<string, ListenerView['role']>();
  private listenerViews: ListenerView[] = [];
  private ruleViews: ListenerView[] = [];
  /** ECS built-in blue/green: the target group the production rule did not forward to at first. */
  private ecsGreenTargetGroups: string[] | undefined;
  private ecsTargetGroupPair: string[] = [];

  constructor(
    private readonly elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>,
    private readonly pacer: ApiPacer,
  ) {}

  /** A listener of the deployment group's production or test traffic route. */
  addListener(arn: string, role: ListenerView['role']): void {
    this.listenerRoles.set(arn, role);
  }

  /** ECS built-in blue/green: the green target groups, once the production rule was read. */
  get greenTargetGroups(): string[] | undefined {
    return this.ecsGreenTargetGroups;
  }

  /** ECS built-in blue/green: the listener rules and target group pair the service's load balancers name. */
  noteLoadBalancers(s: Service): void {
    for (const lb of s.loadBalancers ?? []) {
      const advanced = lb.advancedConfiguration;
      if (!advanced) continue;
      if (advanced.productionListenerRule) this.ruleRoles.set(advanced.productionListenerRule, 'production');
      if (advanced.testListenerRule) this.ruleRoles.set(advanced.testListenerRule, 'test');
      this.ecsTargetGroupPair = [lb.targetGroupArn, advanced.alternateTargetGroupArn].filter(defined);
    }
  }

  async readListeners(note: NoteCall, evidence: Evidence): Promise<void> {
    if (!this.listenerRoles.size) return;
    const arns = [...this.listenerRoles.keys()];
    const out = note(
      'elbv2:DescribeListeners',
      await this.pacer.call('elbv2:DescribeListeners', () =>
        this.elbv2.send(new DescribeListenersCommand({ ListenerArns: arns })),
      ),
    );
    if (!out) return;
    this.listenerViews = (out.Listeners ?? []).map((l) =>
      listenerView(l, this.listenerRoles.get(l.ListenerArn ?? '') ?? 'production'),
    );
    evidence.listeners = [...this.listenerViews, ...this.ruleViews];
  }

  /**
   * ECS built-in blue/green: DescribeRules for the production and test listener rules, whose
   * weights are the traffic shift. Green is the target group of the pair that the production
   * rule did not send traffic to when first read before the production traffic shift.
   */
  async readListenerRules(note: NoteCall, evidence: Evidence): Promise<void> {
    if (!this.ruleRoles.size) return;
    const arns = [...this.ruleRoles.keys()];
    const out = note(
      'elbv2:DescribeRules',
      await this.pacer.call('elbv2:DescribeRules', () =>
        this.elbv2.send(new DescribeRulesCommand({ RuleArns: arns })),
      ),
    );
    if (!out) return;
    this.ruleViews = (out.Rules ?? []).map((r) =>
      listenerRuleView(r, this.ruleRoles.get(r.RuleArn ?? '') ?? 'production'),
    );
    const e = evidence;
    const production = this.ruleViews.find((r) => r.role === 'production');
    const stage = e.serviceDeployment?.lifecycleStage;
    if (!this.ecsGreenTargetGroups && production && this.ecsTargetGroupPair.length > 1 && !isShifted(stage)) {
      this.ecsGreenTargetGroups = this.ecsTargetGroupPair.filter((tg) => !production.forwardsTo.includes(tg));
      e.replacementTargetGroupArns = this.ecsGreenTargetGroups;
    }
    e.listeners = [...this.listenerViews, ...this.ruleViews];
  }
}
