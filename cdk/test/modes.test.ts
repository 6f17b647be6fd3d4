// What each mode adds to a stack (direct, the Provider, a shared function, the function
// itself), ServiceLinkedRoleFunction against the SAM app, each bundled architecture, and the
// README's footprint table. Runs where synth.test.ts runs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App,
  DefaultStackSynthesizer,
  Duration,
  Fn,
  Stack,
  aws_lambda as lambda,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoleProps } from '../lib';
import {
  PACKAGE,
  bundledArchitectures,
  defaultArchitecture,
  architectures,
  assetKey,
  serviceLinkedRoleStatements,
  stackWith,
  onlyId,
  serviceTimeouts,
  functionStack,
} from './synth-support';

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
