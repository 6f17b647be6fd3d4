// What the stack's function and the shared function have in common: the builds of the function
// this package carries, the permissions the SAM app grants it, and the limits its settings
// must respect.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, Fn, Lazy, aws_iam as iam, aws_lambda as lambda } from 'aws-cdk-lib';

/** The longest PropagationWaitSeconds the function accepts. */
export const MAX_PROPAGATION_WAIT_SECONDS = 900;
/** Lambda's limit on a function's timeout. */
export const MAX_TIMEOUT_SECONDS = 900;

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
export function bundled(): Manifest {
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
export function bundledCode(architecture: lambda.Architecture | undefined): { code: lambda.Code; architecture: lambda.Architecture } {
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

/** The tags by which the function marks a role as created by it (handler/role/work.rs). */
const OWNERSHIP_TAG_KEYS = ['upsert-slr:stack-id', 'upsert-slr:logical-id', 'upsert-slr:request-id', 'upsert-slr:removal-policy'];
/**
 * The `upsert-slr:stack-id` of a role the function may change: a stack of this account's, or
 * the mark of a role it created for a Terraform owner (handler/role/work.rs, TERRAFORM_MARK),
 * whose destroy no stack confirms: the same function serves both.
 */
const OWNERS = (): string[] => [Fn.sub(OWN_STACK_IDS), 'terraform'];
/** The one tag the owning resource's Updates rewrite: its RemovalPolicy. */
const REMOVAL_POLICY_TAG = 'upsert-slr:removal-policy';

/** Every service-linked role of the account, which the function may read whatever it may create. */
const ALL_SERVICE_LINKED_ROLES = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*';
/** The stacks of this account, in any region. */
const OWN_STACKS = 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*';
/** A stack id of this account, as the ownership tag holds it. */
const OWN_STACK_IDS = 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*';

/**
 * The paths of the service-linked roles `services` may have: every one for `*`, else each
 * service's own, written as template.yaml writes them (the partition and account are
 * wildcards there, since a list parameter cannot be mapped; IAM acts only on the function's
 * own account whatever the ARN says).
 */
function rolePaths(services: string[]): string[] {
  return services.includes('*')
    ? [Fn.sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*')]
    : services.map((service) => `arn:*:iam::*:role/aws-service-role/${service}/*`);
}

/**
 * The function's permissions, as the SAM app grants them: creation only for `allowed`, change
 * or deletion only of the roles it tagged as created, and reads of any service's role and of
 * the account's stacks.
 */
export function serviceLinkedRoleStatements(allowed: string[] | (() => string[])): iam.PolicyStatement[] {
  const services = typeof allowed === 'function' ? Lazy.list({ produce: allowed }) : allowed;
  const roles = typeof allowed === 'function' ? Lazy.list({ produce: () => rolePaths(allowed()) }) : rolePaths(allowed);
  return [
    new iam.PolicyStatement({
      sid: 'CreateAllowedServiceLinkedRoles',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: roles,
      conditions: { StringLike: { 'iam:AWSServiceName': services } },
    }),
    // Any service's role, allowed or not: the hook uses an existing role of a service it may
    // not create, and OpenSearch adopts Elasticsearch's legacy role.
    new iam.PolicyStatement({
      sid: 'ReadServiceLinkedRoles',
      actions: ['iam:GetRole', 'iam:GetServiceLinkedRoleDeletionStatus'],
      resources: [Fn.sub(ALL_SERVICE_LINKED_ROLES)],
    }),
    // CreateServiceLinkedRole takes no tags: the role is marked right after, never once marked.
    new iam.PolicyStatement({
      sid: 'MarkCreatedServiceLinkedRoles',
      actions: ['iam:TagRole'],
      resources: roles,
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': OWNERSHIP_TAG_KEYS },
        'Null': { 'aws:ResourceTag/upsert-slr:stack-id': 'true' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ChangeOwnServiceLinkedRoles',
      actions: ['iam:UpdateRoleDescription', 'iam:DeleteServiceLinkedRole'],
      resources: roles,
      conditions: {
        StringLike: { 'aws:ResourceTag/upsert-slr:stack-id': OWNERS() },
      },
    }),
    // The owning resource's Update rewrites this one tag when its RemovalPolicy changes, on a
    // role already marked by a stack of this account or for a Terraform owner; IAM cannot tell
    // which.
    new iam.PolicyStatement({
      sid: 'RecordRemovalPolicyOfOwnServiceLinkedRoles',
      actions: ['iam:TagRole'],
      resources: roles,
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': [REMOVAL_POLICY_TAG] },
        'StringLike': { 'aws:ResourceTag/upsert-slr:stack-id': OWNERS() },
      },
    }),
    // When IAM's "has been taken" message does not name the role, when IAM refuses in other
    // words, and to tell whether a role exists when GetRole answers AccessDenied: IAM
    // authorizes a name that matches no role against an ARN without the service's path.
    // ListRoles cannot be limited to a path.
    new iam.PolicyStatement({ sid: 'FindExistingServiceLinkedRole', actions: ['iam:ListRoles'], resources: ['*'] }),
    // Before deleting a role it created, whether CloudFormation itself is deleting the
    // resource: a Delete sent by hand is not confirmed. Reads only, of this account's stacks.
    new iam.PolicyStatement({
      sid: 'ReadOwnStacks',
      actions: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources'],
      resources: [Fn.sub(OWN_STACKS)],
    }),
  ];
}
