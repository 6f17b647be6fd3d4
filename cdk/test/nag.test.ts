// cdk-nag's AwsSolutions, NIST 800-53 rev 5, HIPAA Security and PCI DSS 3.2.1 packs on an app
// using every mode of the constructs, and the aspect: no finding may be left unacknowledged, so
// that a platform team's pipeline passes with no suppression of its own. Runs with each cdk-nag
// the test's node_modules has: `cdk-nag` and `cdk-nag-v2` (an alias of the last 2.x), 3.x
// only on an aws-cdk-lib with `Validations`. In cdk/ (the lowest aws-cdk-lib supported, which
// has no `Validations`) that is cdk-nag 2; in the TypeScript consumer app (the newest), both.
// Also: CDK's own PermissionsBoundary reaches every role the constructs create.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as cdk from 'aws-cdk-lib';
import { App, Aspects, CfnResource, IAspect, Stack, aws_iam as iam, aws_kms as kms, aws_lambda as lambda } from 'aws-cdk-lib';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoles } from '../lib';

const PACKS = ['AwsSolutionsChecks', 'NIST80053R5Checks', 'HIPAASecurityChecks', 'PCIDSS321Checks'];

interface Nag {
  readonly name: string;
  readonly major: number;
  readonly module: Record<string, any>;
}

/** The cdk-nag releases this test can run: those installed, 3.x only where CDK can run it. */
function nags(): Nag[] {
  const found: Nag[] = [];
  for (const name of ['cdk-nag', 'cdk-nag-v2']) {
    let module: Record<string, any>;
    let version: string;
    try {
      module = require(name);
      version = require(`${name}/package.json`).version;
    } catch {
      continue;
    }
    const major = Number(version.split('.')[0]);
    if (major >= 3 && !(cdk as any).Validations) continue;
    found.push({ name: `${name} ${version}`, major, module });
  }
  return found;
}

/** Every mode of the constructs, one stack each; `edit` runs on the app before synthesis. */
function app(): App {
  const a = new App();
  const direct = new Stack(a, 'Direct');
  new ServiceLinkedRole(direct, 'Ecs', { awsServiceName: 'ecs.amazonaws.com' });
  new ServiceLinkedRole(direct, 'Autoscaling', { awsServiceName: 'autoscaling.amazonaws.com', customSuffix: 'x' });
  const provider = new Stack(a, 'Provider');
  new ServiceLinkedRole(provider, 'Ecs', { awsServiceName: 'ecs.amazonaws.com', backing: Backing.PROVIDER });
  new ServiceLinkedRole(provider, 'Elb', { awsServiceName: 'elasticloadbalancing.amazonaws.com' });
  const shared = new Stack(a, 'SharedToken');
  new ServiceLinkedRole(shared, 'Ecs', { awsServiceName: 'ecs.amazonaws.com', serviceToken: ServiceLinkedRoleFunction.importServiceToken() });
  new ServiceLinkedRoleFunction(new Stack(a, 'Function'), 'Slr');
  const options = new Stack(a, 'FunctionOptions');
  new ServiceLinkedRoleFunction(options, 'Slr', {
    allowedServices: ['ecs.amazonaws.com', '*.application-autoscaling.amazonaws.com'],
    logGroupEncryptionKey: new kms.Key(options, 'Key', { enableKeyRotation: true }),
    tracing: lambda.Tracing.ACTIVE,
  });
  const own = new Stack(a, 'FunctionOwnRole');
  new ServiceLinkedRoleFunction(own, 'Slr', {
    role: iam.Role.fromRoleArn(own, 'Platform', 'arn:aws:iam::123456789012:role/platform/upsert-slr'),
  });
  const aspect = new Stack(a, 'Aspect');
  new CfnResource(aspect, 'Cluster', { type: 'AWS::ECS::Cluster' });
  Aspects.of(aspect).add(new ServiceLinkedRoles());
  return a;
}

/** The unacknowledged findings (errors and warnings) of `nag`'s four packs on `a`. */
function findings(nag: Nag, a: App): string[] {
  if (nag.major >= 3) {
    const validations = (cdk as any).Validations;
    for (const pack of PACKS) validations.of(a).addPlugins(new nag.module[pack](a));
    try {
      a.synth();
      return [];
    } catch (error) {
      const report = (error as any).report ?? readReport(a);
      if (!report) throw error;
      return report.pluginReports.flatMap((p: any) =>
        p.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${c.constructPath} ${v.ruleName}`)),
      );
    }
  }
  for (const pack of PACKS) Aspects.of(a).add(new nag.module[pack]() as IAspect);
  const assembly = a.synth();
  return assembly.stacks.flatMap((s) =>
    s.messages.filter((m) => m.level !== 'info').map((m) => `${m.id} ${String(m.entry.data).split(': ')[0]}`),
  );
}

/** cdk-nag 3's report, which a failed synthesis leaves in the cloud assembly. */
function readReport(a: App): any {
  const fs = require('node:fs');
  const file = require('node:path').join(a.outdir, 'validation-report.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

for (const nag of nags()) {
  test(`${nag.name}: the four packs find nothing unacknowledged in any mode`, () => {
    assert.deepEqual(findings(nag, app()), []);
  });

  // An allowed service's path, and the two reads that reach further: every service-linked
  // role, and the account's stacks.
  for (const finding of [
    'Resource::arn:*:iam::*:role/aws-service-role/ecs.amazonaws.com/*',
    'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/*',
    'Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*/*',
  ]) {
    test(`${nag.name}: each acknowledgement is specific: without ${finding}, its pack reports the finding`, () => {
      const dropped = { id: 'AwsSolutions-IAM5', finding };
      const restore = withoutAcknowledgement(nag, dropped.id, dropped.finding);
      let found: string[];
      try {
        found = findings(nag, app());
      } finally {
        restore();
      }
      const expected = `${dropped.id}[${dropped.finding}]`;
      assert.ok(found.length > 0, 'the packs passed without the acknowledgement');
      assert.ok(found.every((f) => f.includes(nag.major >= 3 ? expected : dropped.id)), `other findings too: ${found.join('\n')}`);
      assert.ok(found.some((f) => /(^|\/)Direct\//.test(f)), `not the Direct stack's: ${found.join('\n')}`);
    });
  }
}

/**
 * Makes the constructs leave out the acknowledgement of `finding` of `rule`, as if it had never
 * been written: for cdk-nag 3 by filtering CDK's `acknowledge`, for cdk-nag 2 the metadata.
 */
function withoutAcknowledgement(nag: Nag, rule: string, finding: string): () => void {
  if (nag.major >= 3) {
    const proto = (cdk as any).Validations.prototype;
    const original = proto.acknowledge;
    proto.acknowledge = function (...rules: { id: string }[]) {
      return original.apply(this, rules.filter((r) => r.id !== `${rule}[${finding}]`));
    };
    return () => { proto.acknowledge = original; };
  }
  const original = CfnResource.prototype.addMetadata;
  CfnResource.prototype.addMetadata = function (key: string, value: any) {
    if (key === 'cdk_nag') {
      value = {
        rules_to_suppress: value.rules_to_suppress
          .map((r: any) => (r.id === rule && r.applies_to ? { ...r, applies_to: r.applies_to.filter((a: string) => a !== finding) } : r))
          .filter((r: any) => !r.applies_to || r.applies_to.length > 0),
      };
    }
    return original.call(this, key, value);
  };
  return () => { CfnResource.prototype.addMetadata = original; };
}

test('cdk-nag is found: the packs ran at least once', () => {
  assert.ok(nags().length > 0, 'no cdk-nag in node_modules: the packs were not applied');
});

test("PermissionsBoundary.of reaches every role of every mode, the Provider framework's included", () => {
  const a = app();
  const boundary = 'arn:aws:iam::123456789012:policy/boundary';
  for (const stack of a.node.children.filter(Stack.isStack)) {
    iam.PermissionsBoundary.of(stack).apply(iam.ManagedPolicy.fromManagedPolicyArn(stack, 'Boundary', boundary));
  }
  const assembly = a.synth();
  let roles = 0;
  const providerFunctions = new Set<string>();
  for (const stack of assembly.stacks) {
    for (const [id, r] of Object.entries<any>(stack.template.Resources ?? {})) {
      if (r.Type === 'AWS::Lambda::Function' && stack.stackName === 'Provider') providerFunctions.add(id);
      if (r.Type !== 'AWS::IAM::Role') continue;
      roles += 1;
      assert.equal(r.Properties.PermissionsBoundary, boundary, `${stack.stackName}/${id} has no boundary`);
    }
  }
  // The upsert-slr function and the framework's onEvent, isComplete and onTimeout functions.
  assert.equal(providerFunctions.size, 4);
  // Direct 1, Provider 5 (the function, the framework's three, its waiter), Function 1,
  // FunctionOptions 1, Aspect 1; the shared-token stack and FunctionOwnRole create none.
  assert.equal(roles, 9);
});

test('a role of its own: the function uses it and the stack creates no role', () => {
  const stack = new Stack(new App(), 'Own');
  const given = iam.Role.fromRoleArn(stack, 'Platform', 'arn:aws:iam::123456789012:role/platform/upsert-slr');
  const fn = new ServiceLinkedRoleFunction(stack, 'Slr', { role: given });
  const template = Stack.of(stack).resolve((fn.lambdaFunction.node.defaultChild as lambda.CfnFunction).role);
  assert.equal(template, 'arn:aws:iam::123456789012:role/platform/upsert-slr');
  const resources = Object.values<any>(assertTemplate(stack).Resources);
  assert.deepEqual(resources.filter((r) => r.Type === 'AWS::IAM::Role'), []);
  const policy = resources.find((r) => r.Type === 'AWS::IAM::Policy');
  assert.deepEqual(policy.Properties.Roles, ['upsert-slr']);

  // A role imported immutable must grant everything already: the stack adds no policy to it.
  const fixed = new Stack(new App(), 'Fixed');
  new ServiceLinkedRoleFunction(fixed, 'Slr', {
    role: iam.Role.fromRoleArn(fixed, 'Platform', 'arn:aws:iam::123456789012:role/platform/upsert-slr', { mutable: false }),
  });
  assert.deepEqual(Object.values<any>(assertTemplate(fixed).Resources).map((r) => r.Type).sort(), [
    'AWS::Lambda::Function', 'AWS::Logs::LogGroup',
  ]);
});

test('log group key and tracing reach the log group and the function; by default neither is set', () => {
  const defaults = assertTemplate(withFunction({}));
  const options = assertTemplate(withFunction({ tracing: lambda.Tracing.ACTIVE, key: true }));
  const of = (t: any, type: string) => Object.values<any>(t.Resources).find((r) => r.Type === type).Properties;
  assert.equal(of(defaults, 'AWS::Logs::LogGroup').KmsKeyId, undefined);
  assert.equal(of(defaults, 'AWS::Lambda::Function').TracingConfig, undefined);
  assert.ok(of(options, 'AWS::Logs::LogGroup').KmsKeyId['Fn::GetAtt'][0].startsWith('Key'));
  assert.deepEqual(of(options, 'AWS::Lambda::Function').TracingConfig, { Mode: 'Active' });
  // The default footprint: the function, its role and its log group.
  assert.deepEqual(Object.values<any>(defaults.Resources).map((r) => r.Type).sort(), [
    'AWS::IAM::Role', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup',
  ]);
});

function withFunction(options: { tracing?: lambda.Tracing; key?: boolean }): Stack {
  const stack = new Stack(new App(), 'Options');
  new ServiceLinkedRoleFunction(stack, 'Slr', {
    tracing: options.tracing,
    logGroupEncryptionKey: options.key ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined,
  });
  return stack;
}

function assertTemplate(stack: Stack): any {
  const app = stack.node.root as App;
  return app.synth().getStackByName(stack.stackName).template;
}
