// What the construct synthesizes, checked with aws-cdk-lib/assertions against the function this
// package carries: its asset, its backings, its policy and the settings it refuses. The same
// file runs against the newest and the lowest aws-cdk-lib the package supports.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App,
  CfnResource,
  Duration,
  RemovalPolicy,
  Stack,
  aws_iam as iam,
  aws_lambda as lambda,
} from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction } from '../lib';
import {
  PACKAGE,
  manifest,
  sha256,
  bundledArchitectures,
  defaultArchitecture,
  serviceLinkedRoleStatements,
  ACCOUNT,
  assertReadsAnyRole,
  stackWith,
  onlyId,
  serviceTimeouts,
  ecsAndAutoScaling,
  functionStack,
} from './synth-support';

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
