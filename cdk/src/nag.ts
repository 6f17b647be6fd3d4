// The findings of cdk-nag's rule packs (AwsSolutions, NIST 800-53 rev 5, HIPAA Security, PCI DSS
// 3.2.1) that do not apply to what these constructs create, each acknowledged on the resource
// with its reason, so that an app running the packs passes without suppressing anything of
// its own, nor reaching for the constructs' internals by path. Written for both majors of
// cdk-nag in use, without depending on either:
//  - cdk-nag 3 reads CDK's own acknowledgements, `Validations.of(construct).acknowledge()`,
//    one id per finding (`AwsSolutions-IAM5[Resource::*]`). aws-cdk-lib has `Validations`
//    only from some release on: looked up, not imported, so that older releases synthesize;
//  - cdk-nag 2 reads a resource's `cdk_nag` metadata: `rules_to_suppress`, the finding in
//    `applies_to`.
import * as cdk from 'aws-cdk-lib';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A rule's finding that does not apply, and why. */
export interface Acknowledgement {
  /** The rule, e.g. `AwsSolutions-IAM5`, `NIST.800.53.R5-LambdaInsideVPC`. */
  readonly rule: string;
  /** The finding of a rule that reports several, e.g. `Resource::*`. */
  readonly finding?: string;
  readonly reason: string;
}

/** What cdk-nag 2 reads (NagPackSuppression in its metadata form). */
interface RuleToSuppress {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

interface ValidationsApi {
  of(scope: IConstruct): { acknowledge(...acknowledgements: { id: string; reason: string }[]): void };
}

/** aws-cdk-lib's `Validations`, on releases that have it. */
function validations(): ValidationsApi | undefined {
  const api = (cdk as unknown as { Validations?: ValidationsApi }).Validations;
  return typeof api?.of === 'function' ? api : undefined;
}

/** Acknowledges `acknowledgements` on `resource`, for both cdk-nag majors. */
export function acknowledge(resource: CfnResource, acknowledgements: Acknowledgement[]): void {
  if (acknowledgements.length === 0) return;
  validations()?.of(resource).acknowledge(
    ...acknowledgements.map((a) => ({ id: a.finding ? `${a.rule}[${a.finding}]` : a.rule, reason: a.reason })),
  );
  const existing: RuleToSuppress[] = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  const rules = [...existing];
  for (const a of acknowledgements) {
    const same = rules.findIndex((r) => r.id === a.rule && r.reason === a.reason);
    if (same >= 0 && a.finding) {
      const appliesTo = rules[same].applies_to ?? [];
      if (!appliesTo.includes(a.finding)) rules[same] = { ...rules[same], applies_to: [...appliesTo, a.finding] };
    } else if (same < 0) {
      rules.push(a.finding ? { id: a.rule, reason: a.reason, applies_to: [a.finding] } : { id: a.rule, reason: a.reason });
    }
  }
  resource.addMetadata('cdk_nag', { rules_to_suppress: rules });
}

const PACKS = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'];
/** The same rule in each compliance pack that has it. */
const inPacks = (rule: string, reason: string, packs = PACKS): Acknowledgement[] => packs.map((p) => ({ rule: `${p}-${rule}`, reason }));

const NO_VPC =
  'Not in a VPC: the function calls only public AWS endpoints (IAM, CloudFormation, Lambda or Step Functions, and the presigned S3 URL CloudFormation sends); a VPC would add NAT or endpoints to reach them and protect nothing.';
const NO_DLQ =
  'No dead-letter queue: a failure surfaces in CloudFormation as the resource\'s failure, and a queued event would hold a presigned URL that answers for the stack.';
const NO_RESERVED_CONCURRENCY =
  'No reserved concurrency: a new account\'s quota of 10 rejects any reservation, and a stack declaring many roles at once needs the concurrency.';
const OWN_POLICY =
  'An inline policy: its grants are for this one role (its own function or log group) and must not be attachable to others.';

/** What every Lambda function these constructs create is acknowledged for. */
export const FUNCTION_ACKNOWLEDGEMENTS: Acknowledgement[] = [
  ...inPacks('LambdaInsideVPC', NO_VPC),
  ...inPacks('LambdaDLQ', NO_DLQ, ['HIPAA.Security', 'NIST.800.53.R5']),
  ...inPacks('LambdaConcurrency', NO_RESERVED_CONCURRENCY, ['HIPAA.Security', 'NIST.800.53.R5']),
];

/** An inline policy of one of these constructs' roles. */
export const INLINE_POLICY_ACKNOWLEDGEMENTS: Acknowledgement[] = inPacks('IAMNoInlinePolicy', OWN_POLICY);

/** Lambda's basic execution policy, which CDK gives a function's role unless it is given one. */
export const BASIC_EXECUTION_ROLE: Acknowledgement = {
  rule: 'AwsSolutions-IAM4',
  finding: 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
  reason: 'Lambda\'s basic execution policy: writes to the function\'s own log group, whose streams Lambda names at run time.',
};

/** The one call of the function's own permissions on `*` (bundled-function.ts). */
export const LIST_ROLES: Acknowledgement = {
  rule: 'AwsSolutions-IAM5',
  finding: 'Resource::*',
  reason: 'Only iam:ListRoles (and X-Ray\'s write calls when traced) are on *: they take no resource.',
};

/** The reads of the function's own permissions, on any service's role and on the account's stacks (bundled-function.ts). */
export const OWN_READS: Acknowledgement[] = [
  {
    rule: 'AwsSolutions-IAM5',
    finding: 'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/*',
    reason: 'Only GetRole and GetServiceLinkedRoleDeletionStatus reach every service-linked role of the account: the function uses or adopts roles of services it may not create (a hook\'s role that serves instead, Elasticsearch\'s legacy role for OpenSearch); reads change nothing.',
  },
  {
    rule: 'AwsSolutions-IAM5',
    finding: 'Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*/*',
    reason: 'Only DescribeStacks and ListStackResources, on this account\'s stacks: before deleting a role it created, the function asks CloudFormation whether the request\'s stack, whichever it is, is deleting the resource.',
  },
];

/** The service-linked role paths of the function's own permissions (bundled-function.ts). */
export function rolePathAcknowledgements(services: string[]): Acknowledgement[] {
  const paths = services.includes('*')
    ? ['arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/*']
    : services.map((s) => `arn:*:iam::*:role/aws-service-role/${s}/*`);
  return paths.map((p) => ({
    rule: 'AwsSolutions-IAM5',
    finding: `Resource::${p}`,
    reason: 'The allowed services\' service-linked role paths, whose role names IAM chooses; creation is also conditioned on iam:AWSServiceName, change and deletion on this tool\'s tag.',
  }));
}


/** The ARNs a policy grants on with a `:*` suffix (any version of a function), as cdk-nag names them. */
function functionVersionFindings(policy: CfnResource): string[] {
  const document = Stack.of(policy).resolve((policy as cdk.aws_iam.CfnPolicy).policyDocument);
  const found = new Set<string>();
  for (const statement of document?.Statement ?? []) {
    for (const resource of [statement.Resource].flat()) {
      const parts = resource?.['Fn::Join']?.[1];
      const target = Array.isArray(parts) && parts.length === 2 && parts[1] === ':*' ? parts[0]?.['Fn::GetAtt'] : undefined;
      if (Array.isArray(target) && target[1] === 'Arn') found.add(`Resource::<${target[0]}.Arn>:*`);
    }
  }
  return [...found];
}

/**
 * The Provider framework's functions, roles, policies and waiter, which aws-cdk-lib makes and
 * a user cannot configure from outside.
 */
export function acknowledgeProvider(provider: IConstruct): void {
  for (const child of provider.node.findAll()) {
    if (!(child instanceof CfnResource)) continue;
    switch (child.cfnResourceType) {
      case 'AWS::Lambda::Function':
        acknowledge(child, [
          ...FUNCTION_ACKNOWLEDGEMENTS,
          {
            rule: 'CdkNagValidationFailure',
            finding: 'AwsSolutions-L1',
            reason: 'The Provider framework chooses its functions\' Node.js runtime, which cdk-nag cannot read from the template.',
          },
        ]);
        break;
      case 'AWS::IAM::Role':
        if ((child as cdk.aws_iam.CfnRole).managedPolicyArns !== undefined) acknowledge(child, [BASIC_EXECUTION_ROLE]);
        break;
      case 'AWS::IAM::Policy':
        acknowledge(child, [
          ...INLINE_POLICY_ACKNOWLEDGEMENTS,
          ...functionVersionFindings(child).map((finding) => ({
            rule: 'AwsSolutions-IAM5',
            finding,
            reason: 'Any version of the one function it names, as the Provider framework grants it to invoke the function.',
          })),
        ]);
        break;
      case 'AWS::StepFunctions::StateMachine':
        acknowledge(child, [
          {
            rule: 'AwsSolutions-SF1',
            reason: 'The framework\'s waiter only polls the isComplete function, which logs each call; its own logging is off so that no retained log group is added.',
          },
          {
            rule: 'AwsSolutions-SF2',
            reason: 'The waiter\'s steps are retries of one function call, which the function\'s logs record; X-Ray would add cost and nothing to find.',
          },
        ]);
        break;
    }
  }
}
