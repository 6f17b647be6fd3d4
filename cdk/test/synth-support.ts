// What the synth tests share: the manifest of the function this package carries (lambda/,
// written by scripts/workshop/release.py), the policy statements the function must have, and
// stacks built the ways the tests build them.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App,
  Duration,
  RemovalPolicy,
  Stack,
  aws_lambda as lambda,
} from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoleProps } from '../lib';

export const PACKAGE = path.join(__dirname, '..');
export const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'lambda', 'manifest.json'), 'utf8'));
export const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
export const bundledArchitectures: string[] = manifest.functions.map((f: { architecture: string }) => f.architecture);
export const defaultArchitecture = bundledArchitectures.includes('arm64') ? 'arm64' : 'x86_64';
export const architectures: Record<string, lambda.Architecture> = { x86_64: lambda.Architecture.X86_64, arm64: lambda.Architecture.ARM_64 };
/** The S3 key of the asset of the bundled zip for `architecture`: named by the manifest's hash. */
export const assetKey = (architecture: string) => {
  const build = manifest.functions.find((f: { architecture: string }) => f.architecture === architecture);
  return `${crypto.createHash('sha256').update(build.sha256).digest('hex')}.zip`;
};
/** Each allowed service's role path, or every service-linked role for `*`. */
export const rolePaths = (services: string[]) =>
  services.includes('*')
    ? { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*' }
    : services.map((service) => `arn:*:iam::*:role/aws-service-role/${service}/*`);
export const ALL_SERVICE_LINKED_ROLES = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*' };
export const OWN_STACK_IDS = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*' };
/** The statements that do not depend on the allowed services, or not only: template.yaml's. */
export const readAnyRoleStatement = {
  Sid: 'ReadServiceLinkedRoles',
  Effect: 'Allow',
  Action: ['iam:GetRole', 'iam:GetServiceLinkedRoleDeletionStatus'],
  Resource: ALL_SERVICE_LINKED_ROLES,
};
export const recordRemovalPolicyStatement = (services: string[]) => ({
  Sid: 'RecordRemovalPolicyOfOwnServiceLinkedRoles',
  Effect: 'Allow',
  Action: 'iam:TagRole',
  Resource: rolePaths(services),
  Condition: {
    'ForAllValues:StringEquals': { 'aws:TagKeys': ['upsert-slr:removal-policy'] },
    'StringLike': { 'aws:ResourceTag/upsert-slr:stack-id': [OWN_STACK_IDS, 'terraform'] },
  },
});
export const readOwnStacksStatement = {
  Sid: 'ReadOwnStacks',
  Effect: 'Allow',
  Action: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*' },
};
/** The permissions of the SAM app's function role (template.yaml), for `services`. */
export const serviceLinkedRoleStatements = (services: string[]) => [
  {
    Sid: 'CreateAllowedServiceLinkedRoles',
    Effect: 'Allow',
    Action: 'iam:CreateServiceLinkedRole',
    Resource: rolePaths(services),
    Condition: { StringLike: { 'iam:AWSServiceName': services } },
  },
  readAnyRoleStatement,
  {
    Sid: 'MarkCreatedServiceLinkedRoles',
    Effect: 'Allow',
    Action: 'iam:TagRole',
    Resource: rolePaths(services),
    Condition: {
      'ForAllValues:StringEquals': {
        'aws:TagKeys': ['upsert-slr:stack-id', 'upsert-slr:logical-id', 'upsert-slr:request-id', 'upsert-slr:removal-policy'],
      },
      'Null': { 'aws:ResourceTag/upsert-slr:stack-id': 'true' },
    },
  },
  {
    Sid: 'ChangeOwnServiceLinkedRoles',
    Effect: 'Allow',
    Action: ['iam:UpdateRoleDescription', 'iam:DeleteServiceLinkedRole'],
    Resource: rolePaths(services),
    Condition: { StringLike: { 'aws:ResourceTag/upsert-slr:stack-id': [OWN_STACK_IDS, 'terraform'] } },
  },
  recordRemovalPolicyStatement(services),
  { Sid: 'FindExistingServiceLinkedRole', Effect: 'Allow', Action: 'iam:ListRoles', Resource: '*' },
  readOwnStacksStatement,
];

export const ACCOUNT = '123456789012';
/** A template's value as CloudFormation resolves it in ACCOUNT, partition aws. */
export const inAccount = (value: any): any => {
  if (Array.isArray(value)) return value.map(inAccount);
  if (value && typeof value === 'object') {
    if (Object.keys(value).length === 1 && typeof value['Fn::Sub'] === 'string') {
      return value['Fn::Sub'].replace(/\$\{AWS::Partition\}/g, 'aws').replace(/\$\{AWS::AccountId\}/g, ACCOUNT);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inAccount(v)]));
  }
  return value;
};
export const escapeRegExp = (c: string) => c.replace(/[.*+?^$()|{}[\]\\/]/g, '\\$&');
/** IAM's matching of an action or ARN against a pattern: `*` any run of characters, `?` any one. */
export const wildcard = (pattern: string) => new RegExp(`^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c))).join('')}$`, 's');
/** A statement as IAM reads it: Action, Resource and condition values as lists, whether CDK wrote one as a list or not. */
export const asIamReads = (s: any) => ({
  ...s,
  Action: [s.Action].flat(),
  Resource: [s.Resource].flat(),
  ...(s.Condition
    ? { Condition: Object.fromEntries(Object.entries<any>(s.Condition).map(([op, keys]) => [op, Object.fromEntries(Object.entries<any>(keys).map(([k, v]) => [k, [v].flat()]))])) }
    : {}),
});
/** The statements allowing `action` on `arn`, conditions aside. */
export const granting = (statements: any[], action: string, arn: string) =>
  statements.filter(
    (s) =>
      s.Effect === 'Allow' &&
      [s.Action].flat().some((a: string) => wildcard(a.toLowerCase()).test(action.toLowerCase())) &&
      [s.Resource].flat().some((r: string) => wildcard(r).test(arn)),
  );
/** Every statement of the policy documents that hold the function's own statements. */
export function functionStatements(template: Template): any[] {
  const documents = [
    ...Object.values(template.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument),
    ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) => (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument)),
  ].filter((d) => d.Statement.some((s: any) => s.Sid === 'CreateAllowedServiceLinkedRoles'));
  assert.equal(documents.length, 1, `one policy holds the function's statements: ${JSON.stringify(documents)}`);
  return documents[0].Statement;
}
export const roleArn = (service: string, name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/aws-service-role/${service}/${name}`;
/** Roles of services a stack names, or not: Elasticsearch's legacy role is what an OpenSearch domain adopts. */
export const SAMPLE_ROLES: Record<string, string> = {
  'ecs.amazonaws.com': 'AWSServiceRoleForECS',
  'es.amazonaws.com': 'AWSServiceRoleForAmazonElasticsearchService',
  'opensearchservice.amazonaws.com': 'AWSServiceRoleForAmazonOpenSearchService',
  'elasticloadbalancing.amazonaws.com': 'AWSServiceRoleForElasticLoadBalancing',
  'autoscaling.amazonaws.com': 'AWSServiceRoleForAutoScaling_app',
};

/**
 * The function's policy read for concrete roles and stacks: any service's role may be read,
 * only `services`' created, tagged, changed or deleted, and only this account's stacks read.
 */
export function assertReadsAnyRole(where: string, template: Template, services: string[]) {
  const statements = functionStatements(template);
  const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
  assert.deepEqual(asIamReads(bySid('ReadServiceLinkedRoles')), asIamReads(readAnyRoleStatement), where);
  assert.deepEqual(asIamReads(bySid('RecordRemovalPolicyOfOwnServiceLinkedRoles')), asIamReads(recordRemovalPolicyStatement(services)), where);
  assert.deepEqual(asIamReads(bySid('ReadOwnStacks')), asIamReads(readOwnStacksStatement), where);
  const resolved = inAccount(statements);
  const allowed = (service: string) => services.some((p) => wildcard(p).test(service));
  for (const [service, name] of Object.entries(SAMPLE_ROLES)) {
    for (const action of ['iam:GetRole', 'iam:GetServiceLinkedRoleDeletionStatus']) {
      assert.ok(granting(resolved, action, roleArn(service, name)).some((s) => !s.Condition), `${where}: ${action} on ${name}`);
      assert.deepEqual(granting(resolved, action, roleArn(service, name, '999999999999')), [], `${where}: ${action} on another account's ${name}`);
    }
    for (const action of ['iam:CreateServiceLinkedRole', 'iam:TagRole', 'iam:UpdateRoleDescription', 'iam:DeleteServiceLinkedRole']) {
      const found = granting(resolved, action, roleArn(service, name));
      assert.equal(found.length > 0, allowed(service), `${where}: ${action} on ${name}, allowed: ${allowed(service)}`);
      assert.ok(found.every((s) => s.Condition), `${where}: ${action} on ${name} without a condition`);
    }
  }
  const stack = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/app/4f4e2b70-1d2c-11ef-9a8b-0e1f2a3b4c5d`;
  for (const action of ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources']) {
    assert.ok(granting(resolved, action, stack).length > 0, `${where}: ${action} on ${stack}`);
    assert.deepEqual(granting(resolved, action, stack.replace(ACCOUNT, '999999999999')), [], `${where}: ${action} on another account's stack`);
  }
  assert.deepEqual(granting(resolved, 'cloudformation:DeleteStack', stack), [], `${where}: cloudformation:DeleteStack`);
}

export type RoleSpec = Partial<ServiceLinkedRoleProps> & { id: string };

export function stackWith(...roles: RoleSpec[]) {
  const app = new App();
  const stack = new Stack(app, 'Test');
  const constructs = roles.map(({ id, ...props }) => new ServiceLinkedRole(stack, id, { awsServiceName: 'ecs.amazonaws.com', ...props }));
  return { app, stack, constructs, template: Template.fromStack(stack) };
}

/** The logical id of the one resource of `type` matching `props`. */
export function onlyId(template: Template, type: string, props: object): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  assert.equal(found.length, 1, `one ${type} matching ${JSON.stringify(props)}: ${found}`);
  return found[0];
}

/** ServiceTimeout of each Custom::ServiceLinkedRole by service, in seconds (a number or a string of one). */
export function serviceTimeouts(template: Template): Record<string, number> {
  const roles = Object.values(template.findResources('Custom::ServiceLinkedRole'));
  return Object.fromEntries(roles.map((r) => [r.Properties.AWSServiceName, Number(r.Properties.ServiceTimeout)]));
}

export const ecsAndAutoScaling = (backing?: Backing) =>
  stackWith(
    { id: 'Ecs', description: 'Role for ECS', propagationWait: Duration.seconds(30), removalPolicy: RemovalPolicy.DESTROY, backing },
    { id: 'AutoScaling', awsServiceName: 'autoscaling.amazonaws.com', customSuffix: 'app', backing },
  );

/** A stack holding only ServiceLinkedRoleFunction, with `props`. */
export function functionStack(props: object = {}) {
  const app = new App();
  const stack = new Stack(app, 'Shared');
  const fn = new ServiceLinkedRoleFunction(stack, 'UpsertSlr', props);
  return { app, stack, fn, template: Template.fromStack(stack) };
}

/** Resource counts by type. */
