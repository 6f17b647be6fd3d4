// What the construct synthesizes, checked with aws-cdk-lib/assertions. The function's code is a
// stand-in: a `bootstrap` that is only an ELF header, so no Rust build is needed.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { App, CfnResource, Duration, RemovalPolicy, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ServiceLinkedRole, architectureOf } from '../lib/service-linked-role';

const X86_64 = 0x3e;
const AARCH64 = 0xb7;

/** The first 20 bytes of a little-endian ELF executable for `machine`. */
function elfHeader(machine: number): Buffer {
  const header = Buffer.alloc(20);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(2, 16); // executable
  header.writeUInt16LE(machine, 18);
  return header;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'upsert-slr-synth-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function standIn(machine = X86_64): string {
  const dir = fs.mkdtempSync(path.join(scratch, 'code-'));
  fs.writeFileSync(path.join(dir, 'bootstrap'), elfHeader(machine), { mode: 0o755 });
  return dir;
}

/** A zip with one deflated entry, as `cargo lambda build --output-format zip` makes. */
function zipWith(name: string, content: Buffer): string {
  const data = zlib.deflateRawSync(content);
  const fileName = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  central.writeUInt32LE(0, 42); // local header at the start
  const centralOffset = local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  const zip = path.join(fs.mkdtempSync(path.join(scratch, 'zip-')), 'bootstrap.zip');
  fs.writeFileSync(zip, Buffer.concat([local, fileName, data, central, fileName, end]));
  return zip;
}

const codePath = standIn();

function stackWith(...roles: Array<Partial<ConstructorParameters<typeof ServiceLinkedRole>[2]> & { id: string }>) {
  const stack = new Stack(new App(), 'Test');
  const constructs = roles.map(({ id, ...props }) =>
    new ServiceLinkedRole(stack, id, { awsServiceName: 'ecs.amazonaws.com', codePath, ...props }),
  );
  return { stack, constructs, template: Template.fromStack(stack) };
}

/** The logical id of the one resource of `type` matching `props`. */
function onlyId(template: Template, type: string, props: object): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  assert.equal(found.length, 1, `one ${type} matching ${JSON.stringify(props)}: ${found}`);
  return found[0];
}

const ecsAndAutoScaling = () =>
  stackWith(
    {
      id: 'Ecs',
      description: 'Role for ECS',
      propagationWait: Duration.seconds(30),
      removalPolicy: RemovalPolicy.DESTROY,
    },
    { id: 'AutoScaling', awsServiceName: 'autoscaling.amazonaws.com', customSuffix: 'app' },
  );

test('the function runs the bootstrap on provided.al2023, waits through isComplete and allows only the stack\'s services', () => {
  const { template } = ecsAndAutoScaling();
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Handler: 'bootstrap',
    Architectures: ['x86_64'],
    Environment: {
      Variables: {
        UPSERT_SLR_WAIT: 'is-complete',
        UPSERT_SLR_ALLOWED_SERVICES: 'autoscaling.amazonaws.com,ecs.amazonaws.com',
      },
    },
  });
});

test('the Provider invokes our function for onEvent and isComplete, and waits long enough for the longest wait', () => {
  const { template } = ecsAndAutoScaling();
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  const arn = { 'Fn::GetAtt': [ours, 'Arn'] };
  const frameworkOnEvent = onlyId(template, 'AWS::Lambda::Function', {
    Handler: 'framework.onEvent',
    Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: arn, USER_IS_COMPLETE_FUNCTION_ARN: arn, WAITER_STATE_MACHINE_ARN: Match.anyValue() } },
  });
  onlyId(template, 'AWS::Lambda::Function', {
    Handler: 'framework.isComplete',
    Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: arn, USER_IS_COMPLETE_FUNCTION_ARN: arn } },
  });
  assert.ok(frameworkOnEvent);
  // The waiter asks every 10 s for 30 min: past the longest propagation wait (900 s).
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  assert.equal(machines.length, 1);
  const definition = JSON.stringify(machines[0].Properties.DefinitionString);
  const retry = /\\"IntervalSeconds\\":(\d+),\\"MaxAttempts\\":(\d+)/.exec(definition);
  assert.ok(retry, definition);
  const [interval, attempts] = [Number(retry[1]), Number(retry[2])];
  assert.equal(interval, 10);
  assert.ok(interval * attempts >= 900 + 5 * 60, `${interval} s × ${attempts}`);
});

test('the resource is a Custom::ServiceLinkedRole with the properties the function reads', () => {
  const { template, constructs, stack } = ecsAndAutoScaling();
  const frameworkOnEvent = onlyId(template, 'AWS::Lambda::Function', { Handler: 'framework.onEvent' });
  template.resourceCountIs('Custom::ServiceLinkedRole', 2);
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
    UpdateReplacePolicy: 'Delete',
  });
  const ecs = stack.getLogicalId(constructs[0].resource.node.defaultChild as CfnResource);
  assert.deepEqual(stack.resolve(constructs[0].roleName), { 'Fn::GetAtt': [ecs, 'RoleName'] });
  assert.deepEqual(stack.resolve(constructs[0].roleArn), { 'Fn::GetAtt': [ecs, 'Arn'] });
});

test('the policy lets the function create roles only for the stack\'s services, and manage service-linked roles', () => {
  const { template } = ecsAndAutoScaling();
  const ours = onlyId(template, 'AWS::Lambda::Function', { Handler: 'bootstrap' });
  const role = template.findResources('AWS::Lambda::Function')[ours].Properties.Role['Fn::GetAtt'][0];
  const serviceRoles = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/aws-service-role/*']],
  };
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: role }],
    PolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iam:CreateServiceLinkedRole',
          Resource: serviceRoles,
          Condition: { StringLike: { 'iam:AWSServiceName': ['autoscaling.amazonaws.com', 'ecs.amazonaws.com'] } },
        },
        {
          Effect: 'Allow',
          Action: [
            'iam:GetRole',
            'iam:TagRole',
            'iam:UpdateRoleDescription',
            'iam:DeleteServiceLinkedRole',
            'iam:GetServiceLinkedRoleDeletionStatus',
          ],
          Resource: serviceRoles,
        },
        { Effect: 'Allow', Action: 'iam:ListRoles', Resource: '*' },
      ],
    },
  });
});

test('one function and one Provider per stack, however many roles', () => {
  const { template } = stackWith(
    { id: 'A' },
    { id: 'B', awsServiceName: 'elasticloadbalancing.amazonaws.com' },
    { id: 'C', awsServiceName: 'ecs.amazonaws.com', description: 'declared twice' },
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
  for (const stack of stacks) {
    new ServiceLinkedRole(stack, 'Ecs', { awsServiceName: 'ecs.amazonaws.com', codePath });
  }
  for (const stack of stacks) {
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'bootstrap' }, 1);
  }
});

test('the architecture is read from the binary, in a directory or a zip, unless given', () => {
  assert.equal(architectureOf(standIn(X86_64)), lambda.Architecture.X86_64);
  assert.equal(architectureOf(standIn(AARCH64)), lambda.Architecture.ARM_64);
  const zip = zipWith('bootstrap', Buffer.concat([elfHeader(AARCH64), Buffer.alloc(4096, 7)]));
  assert.equal(architectureOf(zip), lambda.Architecture.ARM_64);

  const { template } = stackWith({ id: 'Ecs', codePath: zip });
  template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Architectures: ['arm64'] });

  const notElf = fs.mkdtempSync(path.join(scratch, 'code-'));
  fs.writeFileSync(path.join(notElf, 'bootstrap'), '#!/bin/sh\n');
  assert.throws(() => stackWith({ id: 'Ecs', codePath: notElf }), /cannot tell the architecture .* pass architecture/);
  const given = stackWith({ id: 'Ecs', codePath: notElf, architecture: lambda.Architecture.ARM_64 });
  given.template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', Architectures: ['arm64'] });
});

test('settings the function would refuse fail at synth time', () => {
  assert.throws(() => stackWith({ id: 'Ecs', propagationWait: Duration.minutes(16) }), /at most 900 seconds, got 960/);
  assert.throws(() => stackWith({ id: 'Ecs', removalPolicy: RemovalPolicy.SNAPSHOT }), /use DESTROY or RETAIN/);
  assert.throws(
    () => stackWith({ id: 'A' }, { id: 'B', codePath: standIn() }),
    /already uses .* not /,
  );
  const zero = stackWith({ id: 'Ecs', propagationWait: Duration.seconds(0) });
  zero.template.hasResourceProperties('Custom::ServiceLinkedRole', { PropagationWaitSeconds: 0 });
});
