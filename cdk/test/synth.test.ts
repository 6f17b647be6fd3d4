// What the construct synthesizes, checked with aws-cdk-lib/assertions against the function this
// package carries (lambda/, written by scripts/workshop/release.py). The same file runs against the
// newest and the lowest aws-cdk-lib the package supports.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App,
  CfnResource,
  DefaultStackSynthesizer,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoleProps } from '../lib';

const PACKAGE = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'lambda', 'manifest.json'), 'utf8'));
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const bundledArchitectures: string[] = manifest.functions.map((f: { architecture: string }) => f.architecture);
const defaultArchitecture = bundledArchitectures.includes('arm64') ? 'arm64' : 'x86_64';
const architectures: Record<string, lambda.Architecture> = { x86_64: lambda.Architecture.X86_64, arm64: lambda.Architecture.ARM_64 };
/** The S3 key of the asset of the bundled zip for `architecture`: named by the manifest's hash. */
const assetKey = (architecture: string) => {
  const build = manifest.functions.find((f: { architecture: string }) => f.architecture === architecture);
  return `${crypto.createHash('sha256').update(build.sha256).digest('hex')}.zip`;
};
/** Each allowed service's role path, or every service-linked role for `*`. */
const rolePaths = (services: string[]) =>
  services.includes('*')
    ? { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*' }
    : services.map((service) => `arn:*:iam::*:role/aws-service-role/${service}/*`);
const ALL_SERVICE_LINKED_ROLES = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*' };
const OWN_STACK_IDS = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*' };
/** The statements that do not depend on the allowed services, or not only: template.yaml's. */
const readAnyRoleStatement = {
  Sid: 'ReadServiceLinkedRoles',
  Effect: 'Allow',
  Action: ['iam:GetRole', 'iam:GetServiceLinkedRoleDeletionStatus'],
  Resource: ALL_SERVICE_LINKED_ROLES,
};
const recordRemovalPolicyStatement = (services: string[]) => ({
  Sid: 'RecordRemovalPolicyOfOwnServiceLinkedRoles',
  Effect: 'Allow',
  Action: 'iam:TagRole',
  Resource: rolePaths(services),
  Condition: {
    'ForAllValues:StringEquals': { 'aws:TagKeys': ['upsert-slr:removal-policy'] },
    'StringLike': { 'aws:ResourceTag/upsert-slr:stack-id': [OWN_STACK_IDS, 'terraform'] },
  },
});
const readOwnStacksStatement = {
  Sid: 'ReadOwnStacks',
  Effect: 'Allow',
  Action: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*' },
};
/** The permissions of the SAM app's function role (template.yaml), for `services`. */
const serviceLinkedRoleStatements = (services: string[]) => [
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

const ACCOUNT = '123456789012';
/** A template's value as CloudFormation resolves it in ACCOUNT, partition aws. */
const inAccount = (value: any): any => {
  if (Array.isArray(value)) return value.map(inAccount);
  if (value && typeof value === 'object') {
    if (Object.keys(value).length === 1 && typeof value['Fn::Sub'] === 'string') {
      return value['Fn::Sub'].replace(/\$\{AWS::Partition\}/g, 'aws').replace(/\$\{AWS::AccountId\}/g, ACCOUNT);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inAccount(v)]));
  }
  return value;
};
const escapeRegExp = (c: string) => c.replace(/[.*+?^$()|{}[\]\\/]/g, '\\$&');
/** IAM's matching of an action or ARN against a pattern: `*` any run of characters, `?` any one. */
const wildcard = (pattern: string) => new RegExp(`^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c))).join('')}$`, 's');
/** A statement as IAM reads it: Action, Resource and condition values as lists, whether CDK wrote one as a list or not. */
const asIamReads = (s: any) => ({
  ...s,
  Action: [s.Action].flat(),
  Resource: [s.Resource].flat(),
  ...(s.Condition
    ? { Condition: Object.fromEntries(Object.entries<any>(s.Condition).map(([op, keys]) => [op, Object.fromEntries(Object.entries<any>(keys).map(([k, v]) => [k, [v].flat()]))])) }
    : {}),
});
/** The statements allowing `action` on `arn`, conditions aside. */
const granting = (statements: any[], action: string, arn: string) =>
  statements.filter(
    (s) =>
      s.Effect === 'Allow' &&
      [s.Action].flat().some((a: string) => wildcard(a.toLowerCase()).test(action.toLowerCase())) &&
      [s.Resource].flat().some((r: string) => wildcard(r).test(arn)),
  );
/** Every statement of the policy documents that hold the function's own statements. */
function functionStatements(template: Template): any[] {
  const documents = [
    ...Object.values(template.findResources('AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument),
    ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) => (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument)),
  ].filter((d) => d.Statement.some((s: any) => s.Sid === 'CreateAllowedServiceLinkedRoles'));
  assert.equal(documents.length, 1, `one policy holds the function's statements: ${JSON.stringify(documents)}`);
  return documents[0].Statement;
}
const roleArn = (service: string, name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/aws-service-role/${service}/${name}`;
/** Roles of services a stack names, or not: Elasticsearch's legacy role is what an OpenSearch domain adopts. */
const SAMPLE_ROLES: Record<string, string> = {
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
function assertReadsAnyRole(where: string, template: Template, services: string[]) {
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

type RoleSpec = Partial<ServiceLinkedRoleProps> & { id: string };

function stackWith(...roles: RoleSpec[]) {
  const app = new App();
  const stack = new Stack(app, 'Test');
  const constructs = roles.map(({ id, ...props }) => new ServiceLinkedRole(stack, id, { awsServiceName: 'ecs.amazonaws.com', ...props }));
  return { app, stack, constructs, template: Template.fromStack(stack) };
}

/** The logical id of the one resource of `type` matching `props`. */
function onlyId(template: Template, type: string, props: object): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  assert.equal(found.length, 1, `one ${type} matching ${JSON.stringify(props)}: ${found}`);
  return found[0];
}

/** ServiceTimeout of each Custom::ServiceLinkedRole by service, in seconds (a number or a string of one). */
function serviceTimeouts(template: Template): Record<string, number> {
  const roles = Object.values(template.findResources('Custom::ServiceLinkedRole'));
  return Object.fromEntries(roles.map((r) => [r.Properties.AWSServiceName, Number(r.Properties.ServiceTimeout)]));
}

const ecsAndAutoScaling = (backing?: Backing) =>
  stackWith(
    { id: 'Ecs', description: 'Role for ECS', propagationWait: Duration.seconds(30), removalPolicy: RemovalPolicy.DESTROY, backing },
    { id: 'AutoScaling', awsServiceName: 'autoscaling.amazonaws.com', customSuffix: 'app', backing },
  );

test('the package carries the function for its own version, as the manifest says', () => {
  const version = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')).version;
  assert.equal(manifest.version, version);
  assert.ok(bundledArchitectures.includes('x86_64'), `x86_64 is always built: ${bundledArchitectures}`);
  for (const build of manifest.functions) {
    assert.equal(build.file, `${build.architecture}/bootstrap.zip`);
    assert.equal(sha256(path.join(PACKAGE, 'lambda', build.file)), build.sha256, `${build.file} is the zip the manifest hashed`);
  }
});

test('the function is the bundled bootstrap on provided.al2023, its asset the bundled zip under the manifest\'s hash', () => {
  const { app, template } = ecsAndAutoScaling();
  const build = manifest.functions.find((f: { architecture: string }) => f.architecture === defaultArchitecture);
  const assetHash = crypto.createHash('sha256').update(build.sha256).digest('hex');
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Handler: 'bootstrap',
    Architectures: [defaultArchitecture],
    MemorySize: 128,
    Description: Match.stringLikeRegexp(`^upsert-slr ${manifest.version}: `),
    Code: { S3Bucket: Match.anyValue(), S3Key: `${assetHash}.zip` },
  });
  // The staged asset is the zip itself, byte for byte: uploaded as built, not re-zipped.
  const staged = path.join(app.synth().directory, `asset.${assetHash}.zip`);
  assert.equal(sha256(staged), build.sha256);
});

test('synth is deterministic: the same template from two apps', () => {
  assert.deepEqual(ecsAndAutoScaling().template.toJSON(), ecsAndAutoScaling().template.toJSON());
});

test('Provider backing: the Provider invokes the function for onEvent and isComplete, and waits long enough for the longest wait', () => {
  const { template } = ecsAndAutoScaling(Backing.PROVIDER);
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'bootstrap',
    Timeout: 120,
    Environment: {
      Variables: { UPSERT_SLR_WAIT: 'is-complete', UPSERT_SLR_ALLOWED_SERVICES: 'autoscaling.amazonaws.com,ecs.amazonaws.com' },
    },
  });
  const arn = { 'Fn::GetAtt': [ours, 'Arn'] };
  onlyId(template, 'AWS::Lambda::Function', {
    Handler: 'framework.onEvent',
    Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: arn, USER_IS_COMPLETE_FUNCTION_ARN: arn, WAITER_STATE_MACHINE_ARN: Match.anyValue() } },
  });
  onlyId(template, 'AWS::Lambda::Function', {
    Handler: 'framework.isComplete',
    Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: arn, USER_IS_COMPLETE_FUNCTION_ARN: arn } },
  });
  // The waiter asks every 10 s for 30 min: past the longest propagation wait (900 s).
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  assert.equal(machines.length, 1);
  const retry = /\\"IntervalSeconds\\":(\d+),\\"MaxAttempts\\":(\d+)/.exec(JSON.stringify(machines[0].Properties.DefinitionString));
  assert.ok(retry);
  const [interval, attempts] = [Number(retry[1]), Number(retry[2])];
  assert.equal(interval, ServiceLinkedRole.QUERY_INTERVAL.toSeconds());
  assert.ok(interval * attempts >= 900 + 5 * 60, `${interval} s × ${attempts}`);
});

test('the resources are Custom::ServiceLinkedRole with the properties the function reads, and a ServiceTimeout past the waiter', () => {
  const { template, constructs, stack } = ecsAndAutoScaling(Backing.PROVIDER);
  const frameworkOnEvent = onlyId(template, 'AWS::Lambda::Function', { Handler: 'framework.onEvent' });
  template.resourceCountIs('Custom::ServiceLinkedRole', 2);
  const serviceTimeout = ServiceLinkedRole.TOTAL_TIMEOUT.toSeconds() + 300;
  assert.deepEqual(serviceTimeouts(template), { 'ecs.amazonaws.com': serviceTimeout, 'autoscaling.amazonaws.com': serviceTimeout });
  assert.ok(serviceTimeout <= 3600);
  template.hasResource('Custom::ServiceLinkedRole', {
    Properties: {
      ServiceToken: { 'Fn::GetAtt': [frameworkOnEvent, 'Arn'] },
      AWSServiceName: 'ecs.amazonaws.com',
      Description: 'Role for ECS',
      PropagationWaitSeconds: 30,
      RemovalPolicy: 'Delete',
      CustomSuffix: Match.absent(),
    },
    DeletionPolicy: 'Delete',
    UpdateReplacePolicy: 'Delete',
  });
  // RETAIN (the default) is the function's decision at Delete time: CloudFormation must still
  // send the Delete, so the resource itself is not retained.
  template.hasResource('Custom::ServiceLinkedRole', {
    Properties: {
      AWSServiceName: 'autoscaling.amazonaws.com',
      CustomSuffix: 'app',
      RemovalPolicy: 'Retain',
      PropagationWaitSeconds: Match.absent(),
      Description: Match.absent(),
    },
    DeletionPolicy: 'Delete',
  });
  const ecs = stack.getLogicalId(constructs[0].resource.node.defaultChild as CfnResource);
  assert.deepEqual(stack.resolve(constructs[0].roleName), { 'Fn::GetAtt': [ecs, 'RoleName'] });
  assert.deepEqual(stack.resolve(constructs[0].roleArn), { 'Fn::GetAtt': [ecs, 'Arn'] });
  assert.deepEqual(stack.resolve(constructs[0].created), { 'Fn::GetAtt': [ecs, 'Created'] });
});

test('direct backing: the function is the ServiceToken, with no framework, and its timeout covers the longest wait', () => {
  const { template } = stackWith(
    { id: 'Ecs', backing: Backing.DIRECT, propagationWait: Duration.minutes(5) },
    { id: 'Elb', backing: Backing.DIRECT, awsServiceName: 'elasticloadbalancing.amazonaws.com' },
  );
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  template.resourceCountIs('AWS::Lambda::Function', 1);
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
  // 300 s of propagation wait, plus four minutes for IAM calls and a deletion.
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'bootstrap',
    Timeout: 540,
    Environment: { Variables: { UPSERT_SLR_ALLOWED_SERVICES: 'ecs.amazonaws.com,elasticloadbalancing.amazonaws.com', UPSERT_SLR_WAIT: Match.absent() } },
  });
  for (const service of ['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com']) {
    template.hasResourceProperties('Custom::ServiceLinkedRole', {
      ServiceToken: { 'Fn::GetAtt': [ours, 'Arn'] },
      AWSServiceName: service,
    });
  }
  assert.deepEqual(serviceTimeouts(template), { 'ecs.amazonaws.com': 840, 'elasticloadbalancing.amazonaws.com': 840 });

  // The default wait (60 s) counts, and Lambda's limit caps the timeout.
  const defaults = stackWith({ id: 'Ecs', backing: Backing.DIRECT });
  defaults.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Timeout: 300 });
  assert.deepEqual(serviceTimeouts(defaults.template), { 'ecs.amazonaws.com': 600 });
  const longest = stackWith({ id: 'Ecs', backing: Backing.DIRECT, propagationWait: Duration.minutes(15) });
  longest.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Timeout: 900 });
  assert.deepEqual(serviceTimeouts(longest.template), { 'ecs.amazonaws.com': 1200 });
});

test('both backings in one stack share one function', () => {
  const { template } = stackWith(
    { id: 'Ecs', backing: Backing.DIRECT, propagationWait: Duration.seconds(10) },
    { id: 'Elb', backing: Backing.PROVIDER, awsServiceName: 'elasticloadbalancing.amazonaws.com' },
  );
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  const frameworkOnEvent = onlyId(template, 'AWS::Lambda::Function', { Handler: 'framework.onEvent' });
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Timeout: 250 });
  template.hasResourceProperties('Custom::ServiceLinkedRole', { AWSServiceName: 'ecs.amazonaws.com', ServiceToken: { 'Fn::GetAtt': [ours, 'Arn'] } });
  template.hasResourceProperties('Custom::ServiceLinkedRole', {
    AWSServiceName: 'elasticloadbalancing.amazonaws.com',
    ServiceToken: { 'Fn::GetAtt': [frameworkOnEvent, 'Arn'] },
  });
  assert.deepEqual(serviceTimeouts(template), { 'ecs.amazonaws.com': 550, 'elasticloadbalancing.amazonaws.com': 2100 });
});

test('the policy is the SAM app\'s: creation only for the stack\'s services, change only of the roles it created', () => {
  for (const backing of [Backing.PROVIDER, Backing.DIRECT]) {
    const { template } = ecsAndAutoScaling(backing);
    const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
    const role = template.findResources('AWS::Lambda::Function')[ours].Properties.Role['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: role }],
      PolicyDocument: { Statement: serviceLinkedRoleStatements(['autoscaling.amazonaws.com', 'ecs.amazonaws.com']) },
    });
  }
});

test('every mode\'s function reads any service\'s role and this account\'s stacks, and creates or changes only its services\' roles', () => {
  assertReadsAnyRole('stack function, one service', stackWith({ id: 'Ecs' }).template, ['ecs.amazonaws.com']);
  const two = ['autoscaling.amazonaws.com', 'ecs.amazonaws.com'];
  assertReadsAnyRole('stack function, two services', ecsAndAutoScaling(Backing.DIRECT).template, two);
  assertReadsAnyRole('stack function behind the Provider', ecsAndAutoScaling(Backing.PROVIDER).template, two);
  const listed = ['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com'];
  assertReadsAnyRole('ServiceLinkedRoleFunction with allowedServices', functionStack({ allowedServices: listed }).template, listed);
  assertReadsAnyRole('ServiceLinkedRoleFunction, any service', functionStack().template, ['*']);
  const own = new Stack(new App(), 'Own');
  new ServiceLinkedRoleFunction(own, 'Slr', {
    allowedServices: ['opensearchservice.amazonaws.com'],
    role: iam.Role.fromRoleArn(own, 'Platform', `arn:aws:iam::${ACCOUNT}:role/platform/upsert-slr`),
  });
  assertReadsAnyRole('ServiceLinkedRoleFunction with a role of its own', Template.fromStack(own), ['opensearchservice.amazonaws.com']);
});

test('one function and one Provider per stack, however many roles', () => {
  const { template } = stackWith(
    { id: 'A', backing: Backing.PROVIDER },
    { id: 'B', backing: Backing.PROVIDER, awsServiceName: 'elasticloadbalancing.amazonaws.com' },
    { id: 'C', backing: Backing.PROVIDER, awsServiceName: 'ecs.amazonaws.com', description: 'declared twice' },
  );
  template.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'bootstrap' }, 1);
  template.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'framework.onEvent' }, 1);
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  template.resourceCountIs('Custom::ServiceLinkedRole', 3);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'bootstrap',
    Environment: { Variables: { UPSERT_SLR_ALLOWED_SERVICES: 'ecs.amazonaws.com,elasticloadbalancing.amazonaws.com' } },
  });

  const app = new App();
  const stacks = ['One', 'Two'].map((name) => new Stack(app, name));
  for (const stack of stacks) new ServiceLinkedRole(stack, 'Ecs', { awsServiceName: 'ecs.amazonaws.com' });
  for (const stack of stacks) {
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'bootstrap' }, 1);
  }
});

test('the architecture defaults to what the package carries, arm64 first, and must be one it carries', () => {
  const { template } = stackWith({ id: 'Ecs' });
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Architectures: [defaultArchitecture] });
  const x86 = stackWith({ id: 'Ecs', architecture: lambda.Architecture.X86_64 });
  x86.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Architectures: ['x86_64'] });
  if (!bundledArchitectures.includes('arm64')) {
    assert.throws(() => stackWith({ id: 'Ecs', architecture: lambda.Architecture.ARM_64 }), /carries the function for x86_64, not arm64/);
  }
  if (bundledArchitectures.length === 2) {
    assert.throws(
      () => stackWith({ id: 'A', architecture: lambda.Architecture.X86_64 }, { id: 'B', architecture: lambda.Architecture.ARM_64 }),
      /function is x86_64, not arm64: .* same architecture/,
    );
  }
});

test('a package carrying both builds picks arm64 unless told otherwise', () => {
  // A copy of the package with a manifest naming two builds (stand-in zips).
  const copy = fs.mkdtempSync(path.join(__dirname, 'two-builds-'));
  after(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(path.join(PACKAGE, 'lib'), path.join(copy, 'lib'), { recursive: true });
  const functions = ['x86_64', 'arm64'].map((architecture) => {
    fs.mkdirSync(path.join(copy, 'lambda', architecture), { recursive: true });
    const file = `${architecture}/bootstrap.zip`;
    fs.writeFileSync(path.join(copy, 'lambda', file), `stand-in for ${architecture}`);
    return { architecture, file, sha256: sha256(path.join(copy, 'lambda', file)) };
  });
  fs.writeFileSync(path.join(copy, 'lambda', 'manifest.json'), JSON.stringify({ version: manifest.version, functions }));
  const copied = require(path.join(copy, 'lib'));
  const roles = (architecture?: lambda.Architecture) => {
    const stack = new Stack(new App(), 'Test');
    new copied.ServiceLinkedRole(stack, 'Ecs', { awsServiceName: 'ecs.amazonaws.com', architecture });
    return Template.fromStack(stack);
  };
  const arm = functions[1];
  roles().hasResourceProperties('AWS::Lambda::Function', {
    Architectures: ['arm64'],
    Code: { S3Key: `${crypto.createHash('sha256').update(arm.sha256).digest('hex')}.zip` },
  });
  roles(lambda.Architecture.X86_64).hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'] });
});

test('the resource gets a logical id of its own, not the upsert-slr construct\'s (whose ServiceToken could not change)', () => {
  const { stack, constructs } = stackWith({ id: 'ECSServiceLinkedRole' });
  // upsert-slr's construct puts its resource at <id>/Default, in a stack of the same name.
  const oldStack = new Stack(new App(), 'Test');
  const old = new CfnResource(new Construct(oldStack, 'ECSServiceLinkedRole'), 'Default', { type: 'Custom::UpsertServiceLinkedRole' });
  const ours = stack.getLogicalId(constructs[0].resource.node.defaultChild as CfnResource);
  assert.notEqual(ours, oldStack.getLogicalId(old));
  assert.match(ours, /^ECSServiceLinkedRole/);
});

test('settings the function would refuse fail at synth time', () => {
  assert.throws(() => stackWith({ id: 'Ecs', propagationWait: Duration.minutes(16) }), /at most 900 seconds, got 960/);
  assert.throws(() => stackWith({ id: 'Ecs', removalPolicy: RemovalPolicy.SNAPSHOT }), /use DESTROY or RETAIN/);
  const zero = stackWith({ id: 'Ecs', propagationWait: Duration.seconds(0) });
  zero.template.hasResourceProperties('Custom::ServiceLinkedRole', { PropagationWaitSeconds: 0 });
});

/** What a stack adds to an account, counted from its cloud assembly, as the README's table counts it. */
interface Footprint {
  resources: number;
  functions: number;
  iam: number;
  stateMachines: number;
  fileAssets: number;
}

function footprint(app: App, stack: Stack): Footprint {
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const types = Object.values(artifact.template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
  const count = (...wanted: string[]) => types.filter((t) => wanted.includes(t)).length;
  // The assets a deployment uploads, besides the template itself.
  const assetsFile = path.join(assembly.directory, `${stack.artifactId}.assets.json`);
  const files = fs.existsSync(assetsFile) ? Object.values(JSON.parse(fs.readFileSync(assetsFile, 'utf8')).files ?? {}) : [];
  return {
    resources: types.length,
    functions: count('AWS::Lambda::Function'),
    iam: count('AWS::IAM::Role', 'AWS::IAM::Policy'),
    stateMachines: count('AWS::StepFunctions::StateMachine'),
    fileAssets: files.filter((f: any) => f.source.path !== artifact.templateFile).length,
  };
}

/** The README's example: a stack with the roles of ECS and OpenSearch. */
function twoRoles(props: Partial<ServiceLinkedRoleProps> = {}, synthesizer?: DefaultStackSynthesizer) {
  const app = new App();
  const stack = new Stack(app, 'Roles', { synthesizer });
  new ServiceLinkedRole(stack, 'EcsRole', { awsServiceName: 'ecs.amazonaws.com', ...props });
  new ServiceLinkedRole(stack, 'OpenSearchRole', { awsServiceName: 'opensearchservice.amazonaws.com', ...props });
  return { app, stack };
}

const plainSynthesizer = () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false });
const sharedTwoRoles = () => twoRoles({ serviceToken: ServiceLinkedRoleFunction.importServiceToken() }, plainSynthesizer());

function functionStack(props: object = {}) {
  const app = new App();
  const stack = new Stack(app, 'Shared');
  const fn = new ServiceLinkedRoleFunction(stack, 'UpsertSlr', props);
  return { app, stack, fn, template: Template.fromStack(stack) };
}

/** Resource counts by type. */
function typeCounts(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values(template.toJSON().Resources as Record<string, { Type: string }>)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

test('exact resources by type in each mode: the default (direct), the Provider, a shared function, the function itself', () => {
  assert.deepEqual(typeCounts(Template.fromStack(twoRoles().stack)), {
    'AWS::IAM::Role': 1, 'AWS::IAM::Policy': 1, 'AWS::Lambda::Function': 1, 'Custom::ServiceLinkedRole': 2,
  });
  assert.deepEqual(typeCounts(Template.fromStack(twoRoles({ backing: Backing.PROVIDER }).stack)), {
    'AWS::IAM::Role': 5, 'AWS::IAM::Policy': 5, 'AWS::Lambda::Function': 4, 'AWS::StepFunctions::StateMachine': 1, 'Custom::ServiceLinkedRole': 2,
  });
  assert.deepEqual(typeCounts(Template.fromStack(sharedTwoRoles().stack)), { 'Custom::ServiceLinkedRole': 2 });
  assert.deepEqual(typeCounts(functionStack().template), { 'AWS::IAM::Role': 1, 'AWS::Lambda::Function': 1, 'AWS::Logs::LogGroup': 1 });
});

test('the default backing is direct: the function is the ServiceToken', () => {
  const { template } = stackWith({ id: 'Ecs' });
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  template.hasResourceProperties('Custom::ServiceLinkedRole', { ServiceToken: { 'Fn::GetAtt': [ours, 'Arn'] } });
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Environment: { Variables: { UPSERT_SLR_WAIT: Match.absent() } } });
});

test('a shared function: only the roles, no asset, no bootstrap rule, the token as given and a ServiceTimeout past Lambda\'s limit', () => {
  const { app, stack } = sharedTwoRoles();
  const template = Template.fromStack(stack).toJSON();
  for (const service of ['ecs.amazonaws.com', 'opensearchservice.amazonaws.com']) {
    Template.fromStack(stack).hasResource('Custom::ServiceLinkedRole', {
      Properties: { ServiceToken: { 'Fn::ImportValue': 'upsert-slr-ServiceToken' }, AWSServiceName: service, RemovalPolicy: 'Retain' },
      DeletionPolicy: 'Delete',
    });
  }
  assert.deepEqual(serviceTimeouts(Template.fromStack(stack)), { 'ecs.amazonaws.com': 960, 'opensearchservice.amazonaws.com': 960 });
  // Nothing that needs `cdk bootstrap`: no parameter, rule, or asset besides the template.
  assert.equal(template.Parameters, undefined, JSON.stringify(template.Parameters));
  assert.equal(template.Rules, undefined, JSON.stringify(template.Rules));
  const assembly = app.synth();
  const files = Object.values(JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Roles.assets.json'), 'utf8')).files);
  assert.deepEqual(files.map((f: any) => f.source.path), ['Roles.template.json'], 'the only file is the template');
  assert.deepEqual(fs.readdirSync(assembly.directory).filter((f) => f.startsWith('asset.')), [], 'nothing staged');

  // Any token: another stack's function, as a cross-stack reference.
  const app2 = new App();
  const shared = new ServiceLinkedRoleFunction(new Stack(app2, 'Shared'), 'UpsertSlr');
  const user = new Stack(app2, 'User');
  new ServiceLinkedRole(user, 'Ecs', { awsServiceName: 'ecs.amazonaws.com', serviceToken: shared.serviceToken });
  const userTemplate = Template.fromStack(user);
  userTemplate.resourceCountIs('AWS::Lambda::Function', 0);
  userTemplate.hasResourceProperties('Custom::ServiceLinkedRole', { ServiceToken: { 'Fn::ImportValue': Match.stringLikeRegexp('^Shared:') } });
  assert.deepEqual(user.resolve(ServiceLinkedRoleFunction.importServiceToken('other-export')), user.resolve(Fn.importValue('other-export')));
  assert.deepEqual(user.resolve(ServiceLinkedRoleFunction.importServiceToken()), { 'Fn::ImportValue': 'upsert-slr-ServiceToken' });
});

test('settings that cannot apply to a shared function fail at synth time, naming them', () => {
  const token = ServiceLinkedRoleFunction.importServiceToken();
  assert.throws(() => stackWith({ id: 'Ecs', serviceToken: token, architecture: lambda.Architecture.X86_64 }),
    /ServiceLinkedRole for ecs.amazonaws.com: with serviceToken the stack deploys no function, so architecture \(.*\) cannot apply/);
  assert.throws(() => stackWith({ id: 'Ecs', serviceToken: token, backing: Backing.DIRECT }), /so backing \(CloudFormation invokes the shared function directly\) cannot apply/);
  assert.throws(() => stackWith({ id: 'Ecs', serviceToken: token, backing: Backing.PROVIDER, architecture: lambda.Architecture.ARM_64 }),
    /so backing .* and architecture .* cannot apply: leave them out, or drop serviceToken/);
  assert.throws(() => stackWith({ id: 'Ecs', serviceToken: '' }), /serviceToken is empty/);
  assert.throws(() => stackWith({ id: 'Ecs', serviceToken: token, propagationWait: Duration.minutes(16) }), /at most 900 seconds/);
  const arn = 'arn:aws:lambda:us-east-1:111111111111:function:upsert-slr';
  stackWith({ id: 'Ecs', serviceToken: arn }).template.hasResourceProperties('Custom::ServiceLinkedRole', { ServiceToken: arn });
});

test('ServiceLinkedRoleFunction is the SAM app\'s function: settings, role, log group and export', () => {
  const { template, stack, fn } = functionStack({ allowedServices: ['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com'] });
  const roleId = onlyId(template, 'AWS::IAM::Role', {});
  const logGroupId = onlyId(template, 'AWS::Logs::LogGroup', {});
  template.hasResource('AWS::Lambda::Function', {
    Properties: {
      Description: 'Custom::ServiceLinkedRole - creates or adopts IAM service-linked roles',
      Handler: 'bootstrap',
      Runtime: 'provided.al2023',
      Architectures: [defaultArchitecture],
      MemorySize: 128,
      Timeout: 300,
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logGroupId } },
      Environment: { Variables: { UPSERT_SLR_ALLOWED_SERVICES: 'ecs.amazonaws.com,elasticloadbalancing.amazonaws.com' } },
      Code: { S3Key: assetKey(defaultArchitecture) },
    },
  });
  template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  const role = template.toJSON().Resources[roleId].Properties;
  assert.deepEqual(role, {
    Description: 'upsert-slr function role',
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    Policies: [
      {
        PolicyName: 'logs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }],
        },
      },
      {
        PolicyName: 'service-linked-roles',
        PolicyDocument: { Version: '2012-10-17', Statement: serviceLinkedRoleStatements(['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com']) },
      },
    ],
  });
  const outputs = Object.values(template.toJSON().Outputs);
  assert.deepEqual(outputs.filter((o: any) => o.Export), [
    {
      Description: 'ARN of the function; the ServiceToken of Custom::ServiceLinkedRole resources.',
      Value: { 'Fn::GetAtt': [onlyId(template, 'AWS::Lambda::Function', {}), 'Arn'] },
      Export: { Name: 'upsert-slr-ServiceToken' },
    },
  ]);
  assert.deepEqual(stack.resolve(fn.serviceToken), { 'Fn::GetAtt': [onlyId(template, 'AWS::Lambda::Function', {}), 'Arn'] });

  // The SAM app's defaults: any service; and its parameters as props.
  const defaults = functionStack().template;
  defaults.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { UPSERT_SLR_ALLOWED_SERVICES: '*' } } });
  defaults.hasResourceProperties('AWS::IAM::Role', {
    Policies: Match.arrayWith([{ PolicyName: 'service-linked-roles', PolicyDocument: { Version: '2012-10-17', Statement: serviceLinkedRoleStatements(['*']) } }]),
  });
  const custom = functionStack({
    exportName: 'slr-token', timeout: Duration.minutes(15), logRetention: logs.RetentionDays.ONE_WEEK, architecture: architectures[bundledArchitectures[0]],
  }).template;
  custom.hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, Architectures: [bundledArchitectures[0]] });
  custom.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  custom.hasOutput('*', { Export: { Name: 'slr-token' } });
});

test('ServiceLinkedRoleFunction refuses what the SAM app\'s parameters refuse', () => {
  assert.throws(() => functionStack({ allowedServices: [] }), /allowedServices is empty/);
  assert.throws(() => functionStack({ allowedServices: ['ecs.amazonaws.com, elb.amazonaws.com'] }), /"ecs.amazonaws.com, elb.amazonaws.com" is not a service principal/);
  assert.throws(() => functionStack({ timeout: Duration.seconds(10) }), /timeout must be 30 to 900 seconds, got 10/);
  assert.throws(() => functionStack({ timeout: Duration.minutes(16) }), /timeout must be 30 to 900 seconds, got 960/);
  assert.throws(() => functionStack({ exportName: '' }), /exportName is empty/);
});

test('each architecture the package carries: its zip as the asset, its name in Architectures, for both constructs', () => {
  for (const name of bundledArchitectures) {
    const architecture = architectures[name];
    for (const backing of [Backing.DIRECT, Backing.PROVIDER]) {
      stackWith({ id: 'Ecs', architecture, backing }).template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'bootstrap',
        Architectures: [name],
        Code: { S3Key: assetKey(name) },
      });
    }
    functionStack({ architecture }).template.hasResourceProperties('AWS::Lambda::Function', { Architectures: [name], Code: { S3Key: assetKey(name) } });
  }
  for (const name of Object.keys(architectures).filter((a) => !bundledArchitectures.includes(a))) {
    assert.throws(() => functionStack({ architecture: architectures[name] }), new RegExp(`not ${name}`));
  }
});

test('the README\'s footprint table is what synth counts', () => {
  const readme = fs.readFileSync(path.join(PACKAGE, 'README.md'), 'utf8');
  const header = '| the stack holds | resources | functions | IAM roles + policies | state machines | file assets |';
  const start = readme.indexOf(header);
  assert.ok(start >= 0, `README.md has no table starting ${header}`);
  const lines = readme.slice(start).split('\n').slice(2);
  const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
  const table = rows.map((line) => {
    const [label, ...numbers] = line.split('|').slice(1, -1).map((c) => c.trim());
    return { label, counts: numbers.map(Number) };
  });
  const row = (marker: string) => {
    const found = table.filter((r) => r.label.includes(marker));
    assert.equal(found.length, 1, `one row of the footprint table names ${marker}: ${JSON.stringify(table)}`);
    return found[0].counts;
  };
  const asRow = (f: Footprint) => [f.resources, f.functions, f.iam, f.stateMachines, f.fileAssets];
  // The construct this replaces, as documented; not synthesized here.
  assert.deepEqual(row('`upsert-slr` 1.0.6'), [5, 1, 2, 0, 0]);
  const direct = twoRoles();
  assert.deepEqual(row('`Backing.DIRECT`'), asRow(footprint(direct.app, direct.stack)));
  const provider = twoRoles({ backing: Backing.PROVIDER });
  assert.deepEqual(row('`Backing.PROVIDER`'), asRow(footprint(provider.app, provider.stack)));
  const shared = sharedTwoRoles();
  assert.deepEqual(row('`serviceToken`'), asRow(footprint(shared.app, shared.stack)));
  const fn = functionStack();
  assert.deepEqual(row('`ServiceLinkedRoleFunction`'), asRow(footprint(fn.app, fn.stack)));
  assert.equal(table.length, 5, JSON.stringify(table));
});
