import { CustomResource, Duration, Lazy, RemovalPolicy, Token, aws_lambda as lambda } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MAX_PROPAGATION_WAIT_SECONDS } from './bundled-function';
import { PROVIDER_QUERY_INTERVAL, PROVIDER_TOTAL_TIMEOUT, UpsertSlrFunction } from './stack-function';

const DEFAULT_PROPAGATION_WAIT_SECONDS = 60;
/** ServiceTimeout beyond the longest the answer can legitimately take. */
const ANSWER_MARGIN_SECONDS = 300;
/**
 * ServiceTimeout for a shared function, whose timeout is at most Lambda's limit: the figure the
 * CloudFormation examples use.
 */
const SHARED_SERVICE_TIMEOUT_SECONDS = 960;

/** How CloudFormation reaches the function the stack deploys. */
export enum Backing {
  /**
   * Behind `custom_resources.Provider`, with the function as both onEvent and isComplete
   * handler: waits for IAM happen between isComplete calls, so no Lambda time is billed for
   * them. Adds the framework's three functions, their roles and a Step Functions state machine
   * to the stack.
   */
  PROVIDER = 'PROVIDER',
  /**
   * The function is the resource's ServiceToken and answers CloudFormation itself: one Lambda
   * function and its role per stack, and nothing else, which also suits a new account whose
   * Lambda concurrency quota is 10. The function sits through the propagation wait.
   */
  DIRECT = 'DIRECT',
}

/** Properties of a {@link ServiceLinkedRole}. */
export interface ServiceLinkedRoleProps {
  /** Service principal the role is for, e.g. `ecs.amazonaws.com`. */
  readonly awsServiceName: string;
  /** Role description. */
  readonly description?: string;
  /** Suffix for the role name, for the services that accept one (e.g. autoscaling). */
  readonly customSuffix?: string;
  /**
   * What a stack deletion does to the role. `DESTROY` deletes it, but only when this resource
   * created it; `RETAIN` leaves it in the account.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long the role needs after its creation before the resource is complete, so that other
   * services can use it (0 to 900 seconds). Measured from the role's creation, whoever created
   * it: an adopted role older than this completes at once, a younger one waits out the rest.
   * @default 60 seconds (the function's default)
   */
  readonly propagationWait?: Duration;
  /**
   * How CloudFormation reaches the function the stack deploys. The stack's roles share one
   * function whatever their backing. Not with `serviceToken`.
   * @default Backing.DIRECT
   */
  readonly backing?: Backing;
  /**
   * The architecture of the function the stack deploys. The stack's roles share one function,
   * so they must agree. Not with `serviceToken`.
   * @default arm64 when this package carries an arm64 build of the function, else x86_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * The ARN of an upsert-slr function deployed already, which CloudFormation invokes directly:
   * the SAM app's or the release template's export, or a `ServiceLinkedRoleFunction`'s
   * `serviceToken`, e.g. `ServiceLinkedRoleFunction.importServiceToken()`
   * (`Fn.importValue('upsert-slr-ServiceToken')`). The stack then deploys no function, no
   * role and no asset: only its `Custom::ServiceLinkedRole` resources. That function's
   * `AllowedServices` must include `awsServiceName`.
   * @default the stack deploys a function of its own, from this package
   */
  readonly serviceToken?: string;
}

/**
 * An IAM service-linked role, created when it is missing and adopted when it already exists,
 * through the `Custom::ServiceLinkedRole` custom resource of upsert-slr. Its Lambda function
 * ships inside this package: one per stack, or none when `serviceToken` names a shared one.
 */
export class ServiceLinkedRole extends Construct {
  /** How often the Provider's waiter asks the function whether a wait is over. */
  public static readonly QUERY_INTERVAL = PROVIDER_QUERY_INTERVAL;
  /**
   * How long the Provider's waiter keeps asking: past the longest propagation wait (900 s), with
   * room left for IAM to finish a role deletion.
   */
  public static readonly TOTAL_TIMEOUT = PROVIDER_TOTAL_TIMEOUT;

  /** The role's name, e.g. `AWSServiceRoleForECS` (`!GetAtt RoleName`). */
  public readonly roleName: string;
  /** The role's ARN (`!GetAtt Arn`). */
  public readonly roleArn: string;
  /** `"true"` when the stack's deployment created the role, `"false"` when it adopted it (`!GetAtt Created`). */
  public readonly created: string;
  /** The `Custom::ServiceLinkedRole` resource; its `ref` is the role name. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ServiceLinkedRoleProps) {
    super(scope, id);
    const wait = props.propagationWait?.toSeconds();
    if (wait !== undefined && !Token.isUnresolved(wait) && wait > MAX_PROPAGATION_WAIT_SECONDS) {
      throw new Error(`propagationWait must be at most ${MAX_PROPAGATION_WAIT_SECONDS} seconds, got ${wait}`);
    }
    let serviceToken: string;
    let serviceTimeout: Duration;
    if (props.serviceToken !== undefined) {
      refuseWithServiceToken(props);
      serviceToken = props.serviceToken;
      // That function's timeout is not known here: past the longest Lambda allows.
      serviceTimeout = Duration.seconds(SHARED_SERVICE_TIMEOUT_SECONDS);
    } else {
      const fn = UpsertSlrFunction.of(this, props.architecture);
      fn.allow(props.awsServiceName);
      if ((props.backing ?? Backing.DIRECT) === Backing.DIRECT) {
        fn.waitsInFunction(wait ?? DEFAULT_PROPAGATION_WAIT_SECONDS);
        serviceToken = fn.function.functionArn;
        serviceTimeout = Duration.seconds(Lazy.number({ produce: () => fn.timeoutSeconds() + ANSWER_MARGIN_SECONDS }));
      } else {
        serviceToken = fn.provider().serviceToken;
        serviceTimeout = ServiceLinkedRole.TOTAL_TIMEOUT.plus(Duration.seconds(ANSWER_MARGIN_SECONDS));
      }
    }

    // Not `Default`: the upsert-slr construct's resource has that id, and CloudFormation refuses
    // to change a deployed resource's ServiceToken. Under a new logical id the resource is
    // created instead, and adopts the role.
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken,
      resourceType: 'Custom::ServiceLinkedRole',
      // Bounds the stack's wait when the function never answers (deleted, throttled).
      serviceTimeout,
      properties: {
        AWSServiceName: props.awsServiceName,
        CustomSuffix: props.customSuffix,
        Description: props.description,
        PropagationWaitSeconds: wait,
        RemovalPolicy: removalPolicyProperty(props.removalPolicy ?? RemovalPolicy.RETAIN),
      },
      // Whether the role goes is the function's decision (the RemovalPolicy property above):
      // CloudFormation must send it the Delete, which a retained custom resource would not get.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.roleName = this.resource.getAttString('RoleName');
    this.roleArn = this.resource.getAttString('Arn');
    this.created = this.resource.getAttString('Created');
  }
}

/** Settings that choose the function the stack deploys, which a shared function makes moot. */
function refuseWithServiceToken(props: ServiceLinkedRoleProps): void {
  if (props.serviceToken === '') {
    throw new Error(`ServiceLinkedRole for ${props.awsServiceName}: serviceToken is empty: give the shared function's ARN, or leave it out`);
  }
  const moot = [
    props.backing !== undefined && 'backing (CloudFormation invokes the shared function directly)',
    props.architecture !== undefined && 'architecture (the shared function has the one it was deployed with)',
  ].filter((s): s is string => typeof s === 'string');
  if (moot.length > 0) {
    throw new Error(
      `ServiceLinkedRole for ${props.awsServiceName}: with serviceToken the stack deploys no function, so ${moot.join(' and ')} cannot apply: ` +
        `leave ${moot.length > 1 ? 'them' : 'it'} out, or drop serviceToken to deploy a function in this stack`,
    );
  }
}

function removalPolicyProperty(policy: RemovalPolicy): string {
  switch (policy) {
    case RemovalPolicy.DESTROY:
      return 'Delete';
    case RemovalPolicy.RETAIN:
    case RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE:
      return 'Retain';
    default:
      throw new Error(`removalPolicy ${policy} is not supported: use DESTROY or RETAIN`);
  }
}
