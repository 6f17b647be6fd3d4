import { CfnResource, Duration, Lazy, Stack, Token, aws_lambda as lambda, custom_resources as cr } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MAX_PROPAGATION_WAIT_SECONDS, MAX_TIMEOUT_SECONDS, bundled, bundledCode, serviceLinkedRoleStatements } from './bundled-function';
import {
  BASIC_EXECUTION_ROLE,
  FUNCTION_ACKNOWLEDGEMENTS,
  INLINE_POLICY_ACKNOWLEDGEMENTS,
  LIST_ROLES,
  OWN_READS,
  acknowledge,
  acknowledgeProvider,
  rolePathAcknowledgements,
} from './nag';

// The Provider's waiter, which ServiceLinkedRole publishes as QUERY_INTERVAL and TOTAL_TIMEOUT:
// defined here, where the Provider is made, so that this module needs nothing from that one.
export const PROVIDER_QUERY_INTERVAL = Duration.seconds(10);
/** Past the longest propagation wait (900 s), with room left for IAM to finish a role deletion. */
export const PROVIDER_TOTAL_TIMEOUT = Duration.minutes(30);
/** Behind the Provider an invocation makes a few IAM calls and returns. */
const PROVIDER_INVOCATION_TIMEOUT_SECONDS = 120;
/** Answering directly, the function also makes its IAM calls (with retries) and may follow a deletion. */
const DIRECT_WORK_SECONDS = 240;

/**
 * The upsert-slr function of a stack, shared by every `ServiceLinkedRole` in it, and its
 * Provider once a role asks for one. It may create roles for the services those constructs
 * name, and no others.
 */
export class UpsertSlrFunction extends Construct {
  /** The stack's instance, created on first use. */
  public static of(scope: Construct, architecture: lambda.Architecture | undefined): UpsertSlrFunction {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(UpsertSlrFunction.ID) as UpsertSlrFunction | undefined;
    if (!existing) return new UpsertSlrFunction(stack, UpsertSlrFunction.ID, architecture);
    if (architecture && architecture.name !== existing.function.architecture.name) {
      throw new Error(
        `the stack's upsert-slr function is ${existing.function.architecture.name}, not ${architecture.name}: ` +
          'its ServiceLinkedRoles share it, give them the same architecture',
      );
    }
    return existing;
  }

  private static readonly ID = 'UpsertSlr';

  public readonly function: lambda.Function;
  private readonly services = new Set<string>();
  /** The propagation waits of the roles this function answers for itself. */
  private readonly directWaits: number[] = [];
  private framework?: cr.Provider;

  private constructor(scope: Construct, id: string, architecture: lambda.Architecture | undefined) {
    super(scope, id);
    const { code, architecture: built } = bundledCode(architecture);
    const allowed = () => [...this.services].sort();

    this.function = new lambda.Function(this, 'Function', {
      description: `upsert-slr ${bundled().version}: creates or adopts IAM service-linked roles (Custom::ServiceLinkedRole)`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code,
      architecture: built,
      memorySize: 128,
      environment: {
        UPSERT_SLR_ALLOWED_SERVICES: Lazy.string({ produce: () => allowed().join(',') }),
      },
    });
    // Known only once every role of the stack has been declared.
    (this.function.node.defaultChild as lambda.CfnFunction).timeout = Lazy.number({ produce: () => this.timeoutSeconds() });
    // Into the role's one policy: the function's addToRolePolicy would, on newer aws-cdk-lib
    // releases, put the literal ListRoles statement apart from the lazy ones, in a policy of
    // its own, one more resource in every stack.
    for (const statement of serviceLinkedRoleStatements(allowed)) this.function.role!.addToPrincipalPolicy(statement);
    acknowledge(this.function.node.defaultChild as CfnResource, FUNCTION_ACKNOWLEDGEMENTS);
    acknowledge(this.function.role!.node.defaultChild as CfnResource, [BASIC_EXECUTION_ROLE]);
    for (const policy of this.policies()) acknowledge(policy, [...INLINE_POLICY_ACKNOWLEDGEMENTS, LIST_ROLES, ...OWN_READS]);
  }

  /** Lets the function create roles for `service`. */
  public allow(service: string): void {
    if (!this.services.has(service)) {
      for (const policy of this.policies()) acknowledge(policy, rolePathAcknowledgements([service]));
    }
    this.services.add(service);
  }

  /**
   * The policies of the function's role. How many there are depends on aws-cdk-lib's release
   * and feature flags (the role's DefaultPolicy, or one policy per statement): each gets every
   * acknowledgement of the function's own statements.
   */
  private policies(): CfnResource[] {
    return this.function.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource && c.cfnResourceType === 'AWS::IAM::Policy');
  }

  /** A role answered directly, whose propagation wait the function sits through. */
  public waitsInFunction(seconds: number): void {
    this.directWaits.push(seconds);
  }

  /** The stack's Provider in front of the function, created on first use. */
  public provider(): cr.Provider {
    if (!this.framework) {
      // Only behind the Provider: answering directly, the function always waits itself.
      this.function.addEnvironment('UPSERT_SLR_WAIT', 'is-complete');
      this.framework = new cr.Provider(this, 'Provider', {
        onEventHandler: this.function,
        isCompleteHandler: this.function,
        queryInterval: PROVIDER_QUERY_INTERVAL,
        totalTimeout: PROVIDER_TOTAL_TIMEOUT,
        // Newer aws-cdk-lib releases default to it; the older ones add a retained log group.
        disableWaiterStateMachineLogging: true,
      });
      acknowledgeProvider(this.framework);
    }
    return this.framework;
  }

  /**
   * Long enough for the longest wait of a role answered directly (a token wait counts as the
   * longest allowed), and for the IAM calls around it; short behind the Provider.
   */
  public timeoutSeconds(): number {
    if (this.directWaits.length === 0) return PROVIDER_INVOCATION_TIMEOUT_SECONDS;
    const longest = Math.max(
      ...this.directWaits.map((s) => (Token.isUnresolved(s) ? MAX_PROPAGATION_WAIT_SECONDS : s)),
    );
    return Math.min(MAX_TIMEOUT_SECONDS, longest + DIRECT_WORK_SECONDS);
  }
}
