import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AssetHashType,
  CustomResource,
  Duration,
  Lazy,
  RemovalPolicy,
  Stack,
  Token,
  aws_iam as iam,
  aws_lambda as lambda,
  custom_resources as cr,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** How CloudFormation reaches the function. */
export enum Backing {
  /**
   * Behind `custom_resources.Provider`, with the function as both onEvent and isComplete
   * handler: waits for IAM happen between isComplete calls, so no Lambda time is billed for
   * them. Adds the framework's functions and a Step Functions state machine to the stack.
   */
  PROVIDER = 'PROVIDER',
  /**
   * The function is the resource's ServiceToken and answers CloudFormation itself: one Lambda
   * function per stack and nothing else, which suits a new account whose Lambda concurrency
   * quota is 10. The function sits through the propagation wait.
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
   * How CloudFormation reaches the function. The stack's roles share one function whatever
   * their backing.
   * @default Backing.PROVIDER
   */
  readonly backing?: Backing;
  /**
   * The function's architecture. The stack's roles share one function, so they must agree.
   * @default arm64 when this package carries an arm64 build of the function, else x86_64
   */
  readonly architecture?: lambda.Architecture;
}

/**
 * An IAM service-linked role, created when it is missing and adopted when it already exists,
 * through the `Custom::ServiceLinkedRole` custom resource of upsert-slr. Its Lambda function
 * ships inside this package.
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
    const backing = props.backing ?? Backing.PROVIDER;
    const fn = UpsertSlrFunction.of(this, props.architecture);
    fn.allow(props.awsServiceName);

    let serviceToken: string;
    let serviceTimeout: Duration;
    if (backing === Backing.DIRECT) {
      fn.waitsInFunction(wait ?? DEFAULT_PROPAGATION_WAIT_SECONDS);
      serviceToken = fn.function.functionArn;
      serviceTimeout = Duration.seconds(Lazy.number({ produce: () => fn.timeoutSeconds() + ANSWER_MARGIN_SECONDS }));
    } else {
      serviceToken = fn.provider().serviceToken;
      serviceTimeout = ServiceLinkedRole.TOTAL_TIMEOUT.plus(Duration.seconds(ANSWER_MARGIN_SECONDS));
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
    const build = pickBuild(architecture);
    const allowed = () => [...this.services].sort();

    this.function = new lambda.Function(this, 'Function', {
      description: `upsert-slr ${bundled().version}: creates or adopts IAM service-linked roles (Custom::ServiceLinkedRole)`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      // The zip as built, uploaded as it is; its hash comes from the manifest, so synth reads
      // no more than that file and gives the same asset on every machine.
      code: lambda.Code.fromAsset(path.join(LAMBDA_DIR, build.file), {
        assetHash: build.sha256,
        assetHashType: AssetHashType.CUSTOM,
      }),
      architecture: build.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: 128,
      environment: {
        UPSERT_SLR_ALLOWED_SERVICES: Lazy.string({ produce: () => allowed().join(',') }),
      },
    });
    // Known only once every role of the stack has been declared.
    (this.function.node.defaultChild as lambda.CfnFunction).timeout = Lazy.number({ produce: () => this.timeoutSeconds() });

    const serviceRoles = Stack.of(this).formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: 'aws-service-role/*',
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [serviceRoles],
        conditions: { StringLike: { 'iam:AWSServiceName': Lazy.list({ produce: allowed }) } },
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'iam:GetRole',
          'iam:TagRole',
          'iam:UpdateRoleDescription',
          'iam:DeleteServiceLinkedRole',
          'iam:GetServiceLinkedRoleDeletionStatus',
        ],
        resources: [serviceRoles],
      }),
    );
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['iam:ListRoles'], resources: ['*'] }));
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
