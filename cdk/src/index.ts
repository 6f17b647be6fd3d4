import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AssetHashType,
  CfnOutput,
  CustomResource,
  Duration,
  Fn,
  Lazy,
  RemovalPolicy,
  Stack,
  Token,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  custom_resources as cr,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';

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
  public static readonly QUERY_INTERVAL = Duration.seconds(10);
  /**
   * How long the Provider's waiter keeps asking: past the longest propagation wait (900 s), with
   * room left for IAM to finish a role deletion.
   */
  public static readonly TOTAL_TIMEOUT = Duration.minutes(30);

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

const MAX_PROPAGATION_WAIT_SECONDS = 900;
const DEFAULT_PROPAGATION_WAIT_SECONDS = 60;
/** Lambda's limit on a function's timeout. */
const MAX_TIMEOUT_SECONDS = 900;
/** Behind the Provider an invocation makes a few IAM calls and returns. */
const PROVIDER_INVOCATION_TIMEOUT_SECONDS = 120;
/** Answering directly, the function also makes its IAM calls (with retries) and may follow a deletion. */
const DIRECT_WORK_SECONDS = 240;
/** ServiceTimeout beyond the longest the answer can legitimately take. */
const ANSWER_MARGIN_SECONDS = 300;
/**
 * ServiceTimeout for a shared function, whose timeout is at most Lambda's limit: the figure the
 * CloudFormation examples use.
 */
const SHARED_SERVICE_TIMEOUT_SECONDS = 960;
/** The export the SAM app and the release template give the function's ARN. */
const DEFAULT_EXPORT_NAME = 'upsert-slr-ServiceToken';
/** The SAM app's TimeoutSeconds default, and its bounds. */
const SHARED_TIMEOUT_SECONDS = 300;
const MIN_SHARED_TIMEOUT_SECONDS = 30;
/** What the SAM app's AllowedServices accepts: service principals, `*` matching any run of characters. */
const ALLOWED_SERVICE = /^[A-Za-z0-9_+=.@*-]+$/;

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

/** One build of the function in this package, as `lambda/manifest.json` lists it. */
interface BundledFunction {
  readonly architecture: string;
  readonly file: string;
  readonly sha256: string;
}

interface Manifest {
  readonly version: string;
  readonly functions: BundledFunction[];
}

const LAMBDA_DIR = path.join(__dirname, '..', 'lambda');
let manifest: Manifest | undefined;

/** The builds of the function this package carries, from its manifest (read once). */
function bundled(): Manifest {
  if (!manifest) {
    const file = path.join(LAMBDA_DIR, 'manifest.json');
    if (!fs.existsSync(file)) {
      throw new Error(`${file} is missing: this copy of upsert-slr-cdk carries no function (build it with \`make cdk-lib\`)`);
    }
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  }
  return manifest;
}

/** The build for `architecture`, or the default one, as the bundled code and its architecture. */
function bundledCode(architecture: lambda.Architecture | undefined): { code: lambda.Code; architecture: lambda.Architecture } {
  const build = pickBuild(architecture);
  return {
    // The zip as built, uploaded as it is; its hash comes from the manifest, so synth reads
    // no more than that file and gives the same asset on every machine.
    code: lambda.Code.fromAsset(path.join(LAMBDA_DIR, build.file), {
      assetHash: build.sha256,
      assetHashType: AssetHashType.CUSTOM,
    }),
    architecture: build.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
  };
}

/** Service-linked roles of the stack's account, in the form both the SAM app and this package write. */
const SERVICE_ROLES = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*';

/** The function's permissions, as the SAM app grants them: creation only for `allowed`. */
function serviceLinkedRoleStatements(allowed: string[] | (() => string[])): iam.PolicyStatement[] {
  const services = typeof allowed === 'function' ? Lazy.list({ produce: allowed }) : allowed;
  return [
    new iam.PolicyStatement({
      sid: 'CreateAllowedServiceLinkedRoles',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [Fn.sub(SERVICE_ROLES)],
      conditions: { StringLike: { 'iam:AWSServiceName': services } },
    }),
    new iam.PolicyStatement({
      sid: 'ManageServiceLinkedRoles',
      actions: [
        'iam:GetRole',
        'iam:TagRole',
        'iam:UpdateRoleDescription',
        'iam:DeleteServiceLinkedRole',
        'iam:GetServiceLinkedRoleDeletionStatus',
      ],
      resources: [Fn.sub(SERVICE_ROLES)],
    }),
    // Only when IAM's "has been taken" message does not name the role.
    new iam.PolicyStatement({ sid: 'FindExistingServiceLinkedRole', actions: ['iam:ListRoles'], resources: ['*'] }),
  ];
}

function pickBuild(architecture: lambda.Architecture | undefined): BundledFunction {
  const { functions } = bundled();
  const wanted = architecture?.name ?? (functions.some((f) => f.architecture === 'arm64') ? 'arm64' : 'x86_64');
  const found = functions.find((f) => f.architecture === wanted);
  if (!found) {
    const have = functions.map((f) => f.architecture).join(', ');
    throw new Error(`upsert-slr-cdk carries the function for ${have}, not ${wanted}`);
  }
  return found;
}

/**
 * The upsert-slr function of a stack, shared by every `ServiceLinkedRole` in it, and its
 * Provider once a role asks for one. It may create roles for the services those constructs
 * name, and no others.
 */
class UpsertSlrFunction extends Construct {
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
    for (const statement of serviceLinkedRoleStatements(allowed)) this.function.addToRolePolicy(statement);
  }

  /** Lets the function create roles for `service`. */
  public allow(service: string): void {
    this.services.add(service);
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
        queryInterval: ServiceLinkedRole.QUERY_INTERVAL,
        totalTimeout: ServiceLinkedRole.TOTAL_TIMEOUT,
        // Newer aws-cdk-lib releases default to it; the older ones add a retained log group.
        disableWaiterStateMachineLogging: true,
      });
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

/** Properties of a {@link ServiceLinkedRoleFunction}: the SAM app's parameters. */
export interface ServiceLinkedRoleFunctionProps {
  /**
   * Name of the export that holds the function's ARN, the ServiceToken of other stacks'
   * `ServiceLinkedRole`s (`ServiceTokenExportName`).
   * @default 'upsert-slr-ServiceToken'
   */
  readonly exportName?: string;
  /**
   * Service principals the function may create roles for, e.g. `ecs.amazonaws.com`; `*`
   * matches any run of characters, and `['*']` allows any service (`AllowedServices`).
   * Enforced by the role's policy and by the function itself.
   * @default ['*']
   */
  readonly allowedServices?: string[];
  /**
   * The function's architecture (`Architecture`).
   * @default arm64 when this package carries an arm64 build of the function, else x86_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * The function's timeout, 30 to 900 seconds (`TimeoutSeconds`). It bounds the whole request:
   * a propagation wait that would run past it is cut short.
   * @default 300 seconds
   */
  readonly timeout?: Duration;
  /**
   * How long the function's log group keeps its events (`LogRetentionInDays`).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The upsert-slr function as the SAM app deploys it, for every stack of the account and region:
 * the same function settings, the same least-privilege role, its own log group, and the same
 * export of its ARN. Stacks then use it with `serviceToken` and deploy no function of their own.
 */
export class ServiceLinkedRoleFunction extends Construct {
  /**
   * The ServiceToken exported by an upsert-slr function of this account and region (a
   * `ServiceLinkedRoleFunction`, the SAM app or the release template): `Fn.importValue(exportName)`.
   * @param exportName the export's name; default 'upsert-slr-ServiceToken'
   */
  public static importServiceToken(exportName?: string): string {
    return Fn.importValue(exportName ?? DEFAULT_EXPORT_NAME);
  }

  /** The function's ARN: the `serviceToken` of `ServiceLinkedRole`s. */
  public readonly serviceToken: string;
  /** The function. */
  public readonly lambdaFunction: lambda.Function;
  /** The function's role. */
  public readonly role: iam.Role;
  /** The function's log group (JSON lines, one per event). */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceLinkedRoleFunctionProps = {}) {
    super(scope, id);
    const allowed = props.allowedServices ?? ['*'];
    if (allowed.length === 0) {
      throw new Error("allowedServices is empty: name the service principals the function may create roles for, or ['*'] for any");
    }
    for (const service of allowed) {
      if (!Token.isUnresolved(service) && !ALLOWED_SERVICE.test(service)) {
        throw new Error(`allowedServices: ${JSON.stringify(service)} is not a service principal (letters, digits and _+=.@-, * for any run of them)`);
      }
    }
    const timeout = props.timeout?.toSeconds() ?? SHARED_TIMEOUT_SECONDS;
    if (!Token.isUnresolved(timeout) && (timeout < MIN_SHARED_TIMEOUT_SECONDS || timeout > MAX_TIMEOUT_SECONDS)) {
      throw new Error(`timeout must be ${MIN_SHARED_TIMEOUT_SECONDS} to ${MAX_TIMEOUT_SECONDS} seconds, got ${timeout}`);
    }
    const exportName = props.exportName ?? DEFAULT_EXPORT_NAME;
    if (exportName === '') throw new Error('exportName is empty');

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Written out, as the SAM app's is: logging only to its own log group.
    this.role = new iam.Role(this, 'FunctionRole', {
      description: 'upsert-slr function role',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        'logs': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.logGroup.logGroupArn],
            }),
          ],
        }),
        'service-linked-roles': new iam.PolicyDocument({ statements: serviceLinkedRoleStatements(allowed) }),
      },
    });
    const { code, architecture } = bundledCode(props.architecture);
    this.lambdaFunction = new lambda.Function(this, 'Function', {
      description: 'Custom::ServiceLinkedRole - creates or adopts IAM service-linked roles',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code,
      architecture,
      memorySize: 128,
      timeout: Duration.seconds(timeout),
      role: this.role,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: this.logGroup,
      environment: { UPSERT_SLR_ALLOWED_SERVICES: allowed.join(',') },
    });
    this.serviceToken = this.lambdaFunction.functionArn;

    new CfnOutput(this, 'ServiceToken', {
      description: 'ARN of the function; the ServiceToken of Custom::ServiceLinkedRole resources.',
      value: this.serviceToken,
      exportName,
    });
  }
}

export * from './aspect';
