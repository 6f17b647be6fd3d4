import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
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

/** The function accepts propagation waits of 0 to 900 seconds. */
const MAX_PROPAGATION_WAIT = Duration.seconds(900);
/** How often the Provider's waiter asks the function whether a wait is over. */
export const QUERY_INTERVAL = Duration.seconds(10);
/**
 * How long the waiter keeps asking before it fails the resource: the longest propagation wait
 * the function accepts (900 s), with room left for IAM to finish a role deletion.
 */
export const TOTAL_TIMEOUT = Duration.minutes(30);

export interface ServiceLinkedRoleProps {
  /** Service principal the role is for, e.g. `ecs.amazonaws.com`. */
  readonly awsServiceName: string;
  /** Suffix for the role name, for the services that accept one (e.g. autoscaling). */
  readonly customSuffix?: string;
  /** Role description. */
  readonly description?: string;
  /**
   * What a stack deletion does to the role. `DESTROY` deletes it, but only when this resource
   * created it; `RETAIN` leaves it in the account.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long to wait after creating the role before the resource is complete, so that other
   * services can use it (0 to 900 seconds). An adopted role is not waited for.
   * @default the function's default, 60 seconds
   */
  readonly propagationWait?: Duration;
  /**
   * The function's code: a directory holding the `bootstrap` binary, or a zip with it. Read
   * from the stack's first `ServiceLinkedRole`; the function is shared by all of them.
   * @default the artifact of `make build`: target/lambda/upsert-slr/bootstrap.zip (or the
   * `bootstrap` binary in that directory) of the upsert-slr checkout
   */
  readonly codePath?: string;
  /**
   * The architecture the binary was built for.
   * @default read from the binary's ELF header
   */
  readonly architecture?: lambda.Architecture;
}

/**
 * An IAM service-linked role, created when it is missing and adopted when it already exists,
 * through the `Custom::ServiceLinkedRole` custom resource of upsert-slr.
 */
export class ServiceLinkedRole extends Construct {
  /** The role's name, e.g. `AWSServiceRoleForECS`. */
  public readonly roleName: string;
  /** The role's ARN. */
  public readonly roleArn: string;
  /** The custom resource; its `ref` is the role name. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ServiceLinkedRoleProps) {
    super(scope, id);
    const wait = props.propagationWait;
    if (wait && !Token.isUnresolved(wait.toSeconds())) {
      const seconds = wait.toSeconds();
      if (seconds > MAX_PROPAGATION_WAIT.toSeconds()) {
        throw new Error(`propagationWait must be at most 900 seconds, got ${seconds}`);
      }
    }
    const provider = UpsertSlrProvider.of(this, props);
    provider.allow(props.awsServiceName);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ServiceLinkedRole',
      properties: {
        AWSServiceName: props.awsServiceName,
        CustomSuffix: props.customSuffix,
        Description: props.description,
        PropagationWaitSeconds: wait?.toSeconds(),
        RemovalPolicy: removalPolicyProperty(props.removalPolicy ?? RemovalPolicy.RETAIN),
      },
      // Whether the role goes is the function's decision (the RemovalPolicy property above):
      // CloudFormation must send it the Delete, which a retained custom resource would not get.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.roleName = this.resource.getAttString('RoleName');
    this.roleArn = this.resource.getAttString('Arn');
  }
}

function removalPolicyProperty(policy: RemovalPolicy): 'Delete' | 'Retain' {
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

/**
 * The upsert-slr function and its Provider: one per stack, shared by every
 * `ServiceLinkedRole` in it. It may create roles for the services those constructs name, and
 * no others.
 */
export class UpsertSlrProvider extends Construct {
  /** The stack's instance, created on first use. */
  public static of(scope: Construct, props: Pick<ServiceLinkedRoleProps, 'codePath' | 'architecture'> = {}): UpsertSlrProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(UpsertSlrProvider.ID) as UpsertSlrProvider | undefined;
    if (!existing) return new UpsertSlrProvider(stack, UpsertSlrProvider.ID, props);
    if (props.codePath !== undefined && path.resolve(props.codePath) !== existing.codePath) {
      throw new Error(`the stack's upsert-slr function already uses ${existing.codePath}, not ${props.codePath}`);
    }
    return existing;
  }

  private static readonly ID = 'UpsertSlrProvider';

  public readonly function: lambda.Function;
  public readonly provider: cr.Provider;
  /** Where the function's code comes from. */
  public readonly codePath: string;
  private readonly services = new Set<string>();

  private constructor(scope: Construct, id: string, props: Pick<ServiceLinkedRoleProps, 'codePath' | 'architecture'>) {
    super(scope, id);
    const codePath = path.resolve(props.codePath ?? defaultCodePath());
    this.codePath = codePath;
    const allowed = () => [...this.services].sort();

    this.function = new lambda.Function(this, 'Function', {
      description: 'upsert-slr: creates or adopts IAM service-linked roles (Custom::ServiceLinkedRole)',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(codePath),
      architecture: props.architecture ?? architectureOf(codePath),
      memorySize: 128,
      // Waits happen between isComplete invocations: an invocation only makes a few IAM calls.
      timeout: Duration.minutes(2),
      environment: {
        UPSERT_SLR_WAIT: 'is-complete',
        UPSERT_SLR_ALLOWED_SERVICES: Lazy.string({ produce: () => allowed().join(',') }),
      },
    });

    const stack = Stack.of(this);
    const serviceRoles = stack.formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: 'aws-service-role/*',
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [serviceRoles],
        conditions: {
          StringLike: { 'iam:AWSServiceName': Lazy.list({ produce: allowed }) },
        },
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
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['iam:ListRoles'], resources: ['*'] }),
    );

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      isCompleteHandler: this.function,
      queryInterval: QUERY_INTERVAL,
      totalTimeout: TOTAL_TIMEOUT,
    });
  }

  public get serviceToken(): string {
    return this.provider.serviceToken;
  }

  /** Lets the function create roles for `service`. */
  public allow(service: string): void {
    this.services.add(service);
  }
}

/** The artifact of `make build` in the upsert-slr checkout this file belongs to. */
function defaultCodePath(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'Cargo.toml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error('cannot find the upsert-slr checkout (Cargo.toml) above ' + __dirname + ': pass codePath');
    }
    dir = parent;
  }
  const artifact = path.join(dir, 'target', 'lambda', 'upsert-slr');
  for (const candidate of [path.join(artifact, 'bootstrap.zip'), path.join(artifact, 'bootstrap')]) {
    if (fs.existsSync(candidate)) {
      return candidate.endsWith('.zip') ? candidate : artifact;
    }
  }
  throw new Error(`the function is not built: no ${artifact}/bootstrap.zip. Run \`make build\` in ${dir}, or pass codePath`);
}

/** The architecture of the `bootstrap` ELF binary in a directory or zip. */
export function architectureOf(codePath: string): lambda.Architecture {
  const header = bootstrapHeader(codePath);
  if (header && header.length >= 20 && header.readUInt32BE(0) === 0x7f454c46) {
    const machine = header.readUInt16LE(18);
    if (machine === 0x3e) return lambda.Architecture.X86_64;
    if (machine === 0xb7) return lambda.Architecture.ARM_64;
  }
  throw new Error(`cannot tell the architecture of ${codePath}: no x86_64 or arm64 ELF bootstrap; pass architecture`);
}

function bootstrapHeader(codePath: string): Buffer | undefined {
  if (fs.statSync(codePath).isDirectory()) {
    const binary = path.join(codePath, 'bootstrap');
    if (!fs.existsSync(binary)) return undefined;
    const fd = fs.openSync(binary, 'r');
    try {
      const header = Buffer.alloc(20);
      const read = fs.readSync(fd, header, 0, 20, 0);
      return header.subarray(0, read);
    } finally {
      fs.closeSync(fd);
    }
  }
  return zipEntry(fs.readFileSync(codePath), 'bootstrap');
}

/** An entry of a zip archive, found through its central directory (stored or deflated). */
function zipEntry(zip: Buffer, name: string): Buffer | undefined {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > zip.length) return undefined;
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count && at + 46 <= zip.length && zip.readUInt32LE(at) === 0x02014b50; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (entryName !== name || local + 30 > zip.length) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (method === 0) return data;
    if (method === 8) return zlib.inflateRawSync(data);
    return undefined;
  }
  return undefined;
}
