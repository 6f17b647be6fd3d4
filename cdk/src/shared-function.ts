import { CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Token, aws_iam as iam, aws_kms as kms, aws_lambda as lambda, aws_logs as logs } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MAX_TIMEOUT_SECONDS, bundledCode, serviceLinkedRoleStatements } from './bundled-function';
import { FUNCTION_ACKNOWLEDGEMENTS, INLINE_POLICY_ACKNOWLEDGEMENTS, LIST_ROLES, OWN_READS, acknowledge, rolePathAcknowledgements } from './nag';

/** The export the SAM app and the release template give the function's ARN. */
const DEFAULT_EXPORT_NAME = 'upsert-slr-ServiceToken';
/** The SAM app's TimeoutSeconds default, and its bounds. */
const SHARED_TIMEOUT_SECONDS = 300;
const MIN_SHARED_TIMEOUT_SECONDS = 30;
/** What the SAM app's AllowedServices accepts: service principals, `*` matching any run of characters. */
const ALLOWED_SERVICE = /^[A-Za-z0-9_+=.@*-]+$/;

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
  /**
   * A KMS key that encrypts the function's log group (`LogKmsKeyArn`). Its key policy must let
   * the logs service of the stack's region use it.
   * @default CloudWatch Logs' own encryption
   */
  readonly logGroupEncryptionKey?: kms.IKey;
  /**
   * X-Ray tracing of the function (`Tracing`). `Tracing.ACTIVE` also grants the role X-Ray's
   * write calls.
   * @default lambda.Tracing.PASS_THROUGH, Lambda's default (no tracing configuration)
   */
  readonly tracing?: lambda.Tracing;
  /**
   * An existing role for the function (`RoleArn`), where roles come only from a platform team:
   * no role is created. The function's permissions are added to it as a policy when the role
   * can take one (a role of this app, or one imported mutable); an immutable import must
   * already grant them (docs/configuration.md).
   * @default a role of its own, with the least-privilege policy of the SAM app
   */
  readonly role?: iam.IRole;
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
  /** The function's role: its own, or the one given as `role`. */
  public readonly role: iam.IRole;
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
      encryptionKey: props.logGroupEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    if (!props.logGroupEncryptionKey) {
      acknowledge(this.logGroup.node.defaultChild as CfnResource, [
        'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321',
      ].map((pack) => ({
        rule: `${pack}-CloudWatchLogGroupEncrypted`,
        reason: 'The events hold role names and request ids, nothing secret, and CloudWatch Logs encrypts them with its own key; logGroupEncryptionKey sets a customer managed one.',
      })));
    }
    const logging = new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    });
    if (props.role) {
      // Added to the given role as one policy of this construct, when the role takes one.
      this.role = props.role;
      const policy = new iam.Policy(this, 'FunctionPolicy', {
        statements: [logging, ...serviceLinkedRoleStatements(allowed)],
      });
      this.role.attachInlinePolicy(policy);
      acknowledge(policy.node.defaultChild as CfnResource, [...INLINE_POLICY_ACKNOWLEDGEMENTS, LIST_ROLES, ...OWN_READS, ...rolePathAcknowledgements(allowed)]);
    } else {
      // Written out, as the SAM app's is: logging only to its own log group.
      const role = new iam.Role(this, 'FunctionRole', {
        description: 'upsert-slr function role',
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: {
          'logs': new iam.PolicyDocument({ statements: [logging] }),
          'service-linked-roles': new iam.PolicyDocument({ statements: serviceLinkedRoleStatements(allowed) }),
        },
      });
      this.role = role;
      acknowledge(role.node.defaultChild as CfnResource, [...INLINE_POLICY_ACKNOWLEDGEMENTS, LIST_ROLES, ...OWN_READS, ...rolePathAcknowledgements(allowed)]);
    }
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
      tracing: props.tracing,
    });
    acknowledge(this.lambdaFunction.node.defaultChild as CfnResource, FUNCTION_ACKNOWLEDGEMENTS);
    // Active tracing adds X-Ray's write calls to the role, as a policy of its own.
    const tracingPolicy = this.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (tracingPolicy instanceof CfnResource) acknowledge(tracingPolicy, [...INLINE_POLICY_ACKNOWLEDGEMENTS, LIST_ROLES]);
    this.serviceToken = this.lambdaFunction.functionArn;

    new CfnOutput(this, 'ServiceToken', {
      description: 'ARN of the function; the ServiceToken of Custom::ServiceLinkedRole resources.',
      value: this.serviceToken,
      exportName,
    });
  }
}
