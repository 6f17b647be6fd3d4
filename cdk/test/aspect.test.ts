// What the ServiceLinkedRoles aspect adds to synthesized stacks: a test per row of the table the
// package carries (slr-needs.json, the one the macro reads), and the cases around it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  App,
  Aspects,
  Aws,
  CfnCondition,
  CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  aws_ec2 as ec2,
  aws_elasticache as elasticache,
  aws_iam as iam,
  aws_opensearchservice as opensearch,
} from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Backing, ServiceLinkedRole, ServiceLinkedRoles, ServiceLinkedRolesProps } from '../lib';
import { rowDecision, rows as table } from '../lib/needs';

interface Row {
  resourceType: string;
  service: string;
  roleName: string;
  when?: unknown[];
  tier: string;
}

/** A case of the repository's tests/needs-cases.json, which the macro's tests (tests/needs.rs) run too. */
interface Case {
  resourceType: string;
  properties: Record<string, unknown> | null;
  parameters?: Record<string, unknown>;
  expect: string[];
  undecided?: string[];
  note: string;
}

const PACKAGE = path.join(__dirname, '..');
const rows: Row[] = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'slr-needs.json'), 'utf8')).rows;
const ROLE = 'Custom::ServiceLinkedRole';
const TOKEN = 'arn:aws:lambda:us-east-1:123456789012:function:upsert-slr';
// The shared cases live in the repository, not in the package: an installed copy of the package
// (make cdk-test runs these tests there too) has none, a checkout must.
const IN_REPOSITORY = fs.existsSync(path.join(PACKAGE, 'src', 'aspect.ts'));
const CASES_FILE = path.join(PACKAGE, '..', 'tests', 'needs-cases.json');
const cases: Case[] = IN_REPOSITORY ? JSON.parse(fs.readFileSync(CASES_FILE, 'utf8')).cases : [];
const inRepository = IN_REPOSITORY ? {} : { skip: 'the shared cases are in the repository, not in the installed package' };

/** A stack (`Test`, in a new app with the aspect) after `build`; its template. */
function synth(build: (stack: Stack) => void, props?: ServiceLinkedRolesProps) {
  const app = new App();
  const stack = new Stack(app, 'Test');
  build(stack);
  Aspects.of(app).add(new ServiceLinkedRoles(props));
  return { stack, template: Template.fromStack(stack) };
}

/** The Custom::ServiceLinkedRole resources: logical id → AWSServiceName. */
function roles(template: Template): Record<string, string> {
  const found = template.findResources(ROLE);
  return Object.fromEntries(Object.entries(found).map(([id, r]) => [id, r.Properties.AWSServiceName]));
}

function dependsOn(template: Template, id: string): string[] {
  const d = template.toJSON().Resources[id].DependsOn ?? [];
  return Array.isArray(d) ? d : [d];
}

/** The logical id of the construct with `constructId` directly under the stack. */
function logicalId(stack: Stack, constructId: string): string {
  const child = stack.node.findChild(constructId);
  return stack.resolve(((CfnResource.isCfnResource(child) ? child : child.node.defaultChild) as CfnResource).logicalId);
}

const sorted = (items: Iterable<string>) => [...items].sort();

/** The services whose rows apply to a case, and those undecided, as the reader decides them. */
function decided(c: Case): { apply: string[]; undecided: string[] } {
  const apply: string[] = [];
  const undecided: string[] = [];
  for (const row of table().filter((r) => r.resourceType === c.resourceType)) {
    const { verdict } = rowDecision(row, c.properties, c.parameters);
    if (verdict !== 'fails') apply.push(row.service);
    if (verdict === 'undecided') undecided.push(row.service);
  }
  return { apply: sorted(apply), undecided: sorted(undecided) };
}

test('every shared case is decided as the macro decides it', inRepository, () => {
  assert.ok(cases.length >= 100, String(cases.length));
  for (const c of cases) {
    assert.deepEqual(decided(c), { apply: sorted(c.expect), undecided: sorted(c.undecided ?? []) }, `${c.resourceType} ${JSON.stringify(c.properties)} (${c.note})`);
  }
});

// The aspect knows no parameter values: a case that gives some is decided by the reader alone.
const synthesized = cases.filter((c) => c.parameters === undefined);

test('every row has a synthesized case that meets it and, with a condition, one that does not', inRepository, () => {
  for (const row of table()) {
    const verdicts = synthesized.filter((c) => c.resourceType === row.resourceType).map((c) => rowDecision(row, c.properties).verdict);
    assert.ok(verdicts.includes('holds'), `no case meets ${row.resourceType} ${row.service} (${row.tier})`);
    assert.ok(row.when.length === 0 || verdicts.includes('fails'), `no case leaves ${row.resourceType} ${row.service} unmet`);
  }
});

for (const [index, c] of synthesized.entries()) {
  test(`case ${index}: ${c.resourceType} ${JSON.stringify(c.properties)} gets the roles of [${c.expect.join(', ')}] (${c.note})`, () => {
    const { stack, template } = synth(
      (s) => {
        new CfnResource(s, 'Needer', { type: c.resourceType, ...(c.properties === null ? {} : { properties: c.properties }) });
      },
      { serviceToken: TOKEN },
    );
    const added = roles(template);
    assert.deepEqual(sorted(Object.values(added)), sorted(c.expect), JSON.stringify(added));
    assert.deepEqual(sorted(dependsOn(template, logicalId(stack, 'Needer'))), sorted(Object.keys(added)));
    const warnings = Annotations.fromStack(stack).findWarning('/Test/Needer', Match.anyValue()).map((w) => String(w.entry.data));
    const warned = c.expect.filter((service) => warnings.some((w) => w.includes(`the role of ${service} is known only at deployment`)));
    assert.deepEqual(sorted(warned), sorted(c.undecided ?? []), JSON.stringify(warnings));
  });
}

test('each row adds its role under the logical id its role name gives', inRepository, () => {
  for (const row of table()) {
    const met = synthesized.find((c) => c.resourceType === row.resourceType && rowDecision(row, c.properties).verdict === 'holds')!;
    const { template } = synth((s) => {
      new CfnResource(s, 'Needer', { type: met.resourceType, ...(met.properties === null ? {} : { properties: met.properties }) });
    }, { serviceToken: TOKEN });
    const ids = Object.entries(roles(template)).filter(([, service]) => service === row.service).map(([id]) => id);
    const stem = `UpsertSlr${row.roleName.replace('AWSServiceRoleFor', '').replace(/[^A-Za-z0-9]/g, '')}`;
    // The logical id is the construct's id and the hash CDK appends.
    assert.ok(ids.length === 1 && new RegExp(`^${stem}[0-9A-F]{8}$`).test(ids[0]), `${row.service}: ${ids}`);
  }
});

test('the package reads the table it carries as the reader does', () => {
  assert.deepEqual(table().map((r) => [r.resourceType, r.service, r.tier]), rows.map((r) => [r.resourceType, r.service, r.tier]));
});

test('an OpenSearch domain (the L1) gets the role in a VPC only', () => {
  const bare = synth((s) => {
    new opensearch.CfnDomain(s, 'Domain', { engineVersion: 'OpenSearch_2.11' });
  });
  assert.deepEqual(roles(bare.template), {});
  bare.template.resourceCountIs('AWS::Lambda::Function', 0);
  const noValue = synth((s) => {
    new opensearch.CfnDomain(s, 'Domain', { vpcOptions: Aws.NO_VALUE as never });
  });
  assert.deepEqual(roles(noValue.template), {});
  const inVpc = synth((s) => {
    new opensearch.CfnDomain(s, 'Domain', { vpcOptions: { subnetIds: ['subnet-1'] } });
  });
  assert.deepEqual(Object.values(roles(inVpc.template)), ['opensearchservice.amazonaws.com']);
  // Through a property override too, as the template will carry it.
  const overridden = synth((s) => {
    new opensearch.CfnDomain(s, 'Domain', {}).addPropertyOverride('VPCOptions.SubnetIds', ['subnet-1']);
  });
  assert.deepEqual(Object.values(roles(overridden.template)), ['opensearchservice.amazonaws.com']);
});

test('a role the stack declares already, each of the three ways, is the one its resources depend on', () => {
  const ways: Record<string, (s: Stack) => void> = {
    'ServiceLinkedRole': (s) => {
      new ServiceLinkedRole(s, 'Mine', { awsServiceName: 'ecs.amazonaws.com' });
    },
    'Custom::ServiceLinkedRole': (s) => {
      new CfnResource(s, 'Mine', { type: ROLE, properties: { ServiceToken: 'arn:aws:lambda:us-east-1:1:function:f', AWSServiceName: 'ECS.amazonaws.com' } });
    },
    'AWS::IAM::ServiceLinkedRole': (s) => {
      new iam.CfnServiceLinkedRole(s, 'Mine', { awsServiceName: 'ecs.amazonaws.com' });
    },
  };
  for (const [way, declare] of Object.entries(ways)) {
    const { stack, template } = synth((s) => {
      declare(s);
      new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' });
      new CfnResource(s, 'Service', { type: 'AWS::ECS::Service' });
    });
    const mine = way === 'ServiceLinkedRole'
      ? stack.resolve(((stack.node.findChild('Mine') as ServiceLinkedRole).resource.node.defaultChild as CfnResource).logicalId)
      : logicalId(stack, 'Mine');
    const declared = Object.keys({ ...template.findResources(ROLE), ...template.findResources('AWS::IAM::ServiceLinkedRole') });
    assert.deepEqual(declared, [stack.resolve(mine)], way);
    for (const needer of ['Cluster', 'Service']) assert.deepEqual(dependsOn(template, logicalId(stack, needer)), [stack.resolve(mine)], way);
  }
});

test('a declared role under a condition: no second role and no dependency on it', () => {
  const { stack, template } = synth((s) => {
    const condition = new CfnCondition(s, 'Prod', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
    new iam.CfnServiceLinkedRole(s, 'Mine', { awsServiceName: 'ecs.amazonaws.com' }).cfnOptions.condition = condition;
    new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' });
  });
  assert.deepEqual(roles(template), {});
  assert.deepEqual(dependsOn(template, logicalId(stack, 'Cluster')), []);
});

test('needers that share a condition get a role under it', () => {
  const { template } = synth((s) => {
    const condition = new CfnCondition(s, 'Prod', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
    for (const id of ['A', 'B']) new CfnResource(s, id, { type: 'AWS::Redshift::Cluster' }).cfnOptions.condition = condition;
  });
  const [role] = Object.values(template.findResources(ROLE));
  assert.equal(role.Condition, 'Prod');
});

test('two stacks of one app each declare the role their resources need', () => {
  const app = new App();
  const stacks = ['One', 'Two'].map((id) => {
    const stack = new Stack(app, id);
    new CfnResource(stack, 'Cluster', { type: 'AWS::Redshift::Cluster' });
    return stack;
  });
  Aspects.of(app).add(new ServiceLinkedRoles());
  for (const stack of stacks) {
    const template = Template.fromStack(stack);
    const added = roles(template);
    assert.deepEqual(Object.values(added), ['redshift.amazonaws.com'], stack.stackName);
    assert.deepEqual(dependsOn(template, logicalId(stack, 'Cluster')), Object.keys(added));
    // The stack's own function may create it.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { UPSERT_SLR_ALLOWED_SERVICES: 'redshift.amazonaws.com' } },
    });
  }
});

test('a condition the template decides only at deployment adds the role, with a warning', () => {
  const { stack, template } = synth((s) => {
    new CfnResource(s, 'Domain', {
      type: 'AWS::OpenSearchService::Domain',
      properties: { VPCOptions: Fn.conditionIf('InVpc', { SubnetIds: ['subnet-1'] }, Aws.NO_VALUE) },
    });
    new CfnResource(s, 'Target', { type: 'AWS::ApplicationAutoScaling::ScalableTarget', properties: { ServiceNamespace: Fn.importValue('namespace') } });
  });
  const added = Object.values(roles(template));
  assert.ok(added.includes('opensearchservice.amazonaws.com'), JSON.stringify(added));
  // Every Application Auto Scaling role, as the macro adds them.
  const namespaces = rows.filter((r) => r.resourceType === 'AWS::ApplicationAutoScaling::ScalableTarget').map((r) => r.service);
  assert.deepEqual(added.filter((s) => s.includes('application-autoscaling')).sort(), namespaces.sort());
  assert.equal(dependsOn(template, logicalId(stack, 'Target')).length, namespaces.length);
  const annotations = Annotations.fromStack(stack);
  annotations.hasWarning('/Test/Domain', Match.stringLikeRegexp('opensearchservice.amazonaws.com is known only at deployment \\(VPCOptions is a token\\)'));
  annotations.hasWarning('/Test/Target', Match.stringLikeRegexp('ServiceNamespace is a token'));
  // A decided condition warns of nothing.
  Annotations.fromStack(synth((s) => new CfnResource(s, 'C', { type: 'AWS::ECS::Cluster' })).stack).hasNoWarning('*', Match.anyValue());
});

test('exclude and include choose the services, by principal or role name, any case', () => {
  const both = (s: Stack) => {
    new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' });
    new CfnResource(s, 'Warehouse', { type: 'AWS::Redshift::Cluster' });
  };
  assert.deepEqual(Object.values(roles(synth(both).template)).sort(), ['ecs.amazonaws.com', 'redshift.amazonaws.com']);
  for (const props of [{ exclude: ['ECS.amazonaws.com'] }, { include: ['AWSServiceRoleForRedshift'] }, { include: ['redshift.amazonaws.com', 'ecs.amazonaws.com'], exclude: [' ecs.amazonaws.com '] }]) {
    const { stack, template } = synth(both, props);
    assert.deepEqual(Object.values(roles(template)), ['redshift.amazonaws.com'], JSON.stringify(props));
    assert.deepEqual(dependsOn(template, logicalId(stack, 'Cluster')), [], JSON.stringify(props));
  }
  assert.throws(() => new ServiceLinkedRoles({ exclude: ['ecs.amazonaws.co'] }), /exclude: "ecs.amazonaws.co" is not a service \(or role name\) the table has/);
  assert.throws(() => new ServiceLinkedRoles({ include: ['AWSServiceRoleForNothing'] }), /include: "AWSServiceRoleForNothing"/);
});

test('the roles added take the options the construct takes', () => {
  const token = 'arn:aws:lambda:us-east-1:123456789012:function:upsert-slr';
  const { template } = synth(
    (s) => {
      new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' });
    },
    { removalPolicy: RemovalPolicy.DESTROY, propagationWait: Duration.seconds(30), serviceToken: token },
  );
  template.hasResourceProperties(ROLE, { ServiceToken: token, RemovalPolicy: 'Delete', PropagationWaitSeconds: 30 });
  template.resourceCountIs('AWS::Lambda::Function', 0);
  const defaults = synth((s) => new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' })).template;
  defaults.hasResourceProperties(ROLE, { RemovalPolicy: 'Retain', PropagationWaitSeconds: Match.absent() });
  defaults.resourceCountIs('AWS::Lambda::Function', 1);
  assert.throws(
    () => synth((s) => new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' }), { serviceToken: token, backing: Backing.PROVIDER }),
    /with serviceToken the stack deploys no function, so backing/,
  );
});

test('visited twice, by two aspects or two syntheses, a stack still gets one role', () => {
  const app = new App();
  const stack = new Stack(app, 'Test');
  new CfnResource(stack, 'Cluster', { type: 'AWS::ECS::Cluster' });
  const aspect = new ServiceLinkedRoles();
  Aspects.of(app).add(aspect);
  Aspects.of(stack).add(new ServiceLinkedRoles());
  Aspects.of(stack).add(aspect);
  const first = Template.fromStack(stack).toJSON();
  assert.equal(Object.keys(roles(Template.fromJSON(first))).length, 1);
  assert.deepEqual(app.synth({ force: true }).getStackByName('Test').template, first);
});

test('a resource of a nested stack is left to that stack', async () => {
  const { NestedStack } = await import('aws-cdk-lib');
  const app = new App();
  const parent = new Stack(app, 'Parent');
  const nested = new NestedStack(parent, 'Nested');
  new CfnResource(nested, 'Cluster', { type: 'AWS::ECS::Cluster' });
  Aspects.of(app).add(new ServiceLinkedRoles());
  assert.deepEqual(Object.values(roles(Template.fromStack(parent))), []);
  assert.deepEqual(Object.values(roles(Template.fromStack(nested))), ['ecs.amazonaws.com']);
});

test('behind the Provider, the roles added are served by the stack\'s Provider', () => {
  const { template } = synth((s) => new CfnResource(s, 'Cluster', { type: 'AWS::ECS::Cluster' }), { backing: Backing.PROVIDER });
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  const [role] = Object.values(template.findResources(ROLE));
  assert.deepEqual(Object.keys(role.Properties.ServiceToken), ['Fn::GetAtt'], JSON.stringify(role.Properties.ServiceToken));
  assert.match(role.Properties.ServiceToken['Fn::GetAtt'][0], /Provider/);
});

test('a stack with an ElastiCache subnet group gets the role before the subnet group, and its parameter group waits too', () => {
  const { stack, template } = synth((s) => {
    const subnets = new elasticache.CfnSubnetGroup(s, 'Subnets', { description: 'cache', subnetIds: ['subnet-1', 'subnet-2'] });
    const parameters = new elasticache.CfnParameterGroup(s, 'Parameters', { cacheParameterGroupFamily: 'redis7', description: 'cache' });
    new elasticache.CfnReplicationGroup(s, 'Cache', {
      replicationGroupDescription: 'cache',
      engine: 'redis',
      cacheNodeType: 'cache.t4g.micro',
      numCacheClusters: 1,
      cacheSubnetGroupName: subnets.ref,
      cacheParameterGroupName: parameters.ref,
    });
  });
  const added = roles(template);
  assert.deepEqual(Object.values(added), ['elasticache.amazonaws.com']);
  const [role] = Object.keys(added);
  for (const id of ['Subnets', 'Parameters', 'Cache']) assert.deepEqual(dependsOn(template, logicalId(stack, id)), [role], id);
  Annotations.fromStack(stack).hasInfo('/Test', Match.stringLikeRegexp('needed by Test/Subnets, Test/Cache; Test/Parameters wait for it too$'));
  // A parameter group alone needs no role.
  const alone = synth((s) => new elasticache.CfnParameterGroup(s, 'Parameters', { cacheParameterGroupFamily: 'redis7', description: 'cache' }));
  assert.deepEqual(roles(alone.template), {});
});

test('the role takes a condition only when every resource waiting for it, dependents too, has it', () => {
  const { stack, template } = synth((s) => {
    const prod = new CfnCondition(s, 'Prod', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
    new CfnResource(s, 'Database', { type: 'AWS::RDS::DBInstance', properties: { Engine: 'postgres' } }).cfnOptions.condition = prod;
    new CfnResource(s, 'GraphSubnets', { type: 'AWS::Neptune::DBSubnetGroup', properties: { DBSubnetGroupDescription: 'graph' } });
    new CfnResource(s, 'Cache', { type: 'AWS::ElastiCache::CacheCluster' }).cfnOptions.condition = prod;
    new CfnResource(s, 'CacheParameters', { type: 'AWS::ElastiCache::ParameterGroup' }).cfnOptions.condition = prod;
  });
  const resources = template.toJSON().Resources;
  const roleOf = (service: string) => Object.entries(roles(template)).find(([, s]) => s === service)![0];
  assert.equal(resources[roleOf('rds.amazonaws.com')].Condition, undefined);
  assert.equal(resources[roleOf('elasticache.amazonaws.com')].Condition, 'Prod');
  for (const [id, service] of [['Database', 'rds'], ['GraphSubnets', 'rds'], ['Cache', 'elasticache'], ['CacheParameters', 'elasticache']]) {
    assert.deepEqual(dependsOn(template, logicalId(stack, id)), [roleOf(`${service}.amazonaws.com`)], id);
  }
});

test('a nested path is read from the L1 as the template renders it, overrides included', () => {
  const spot = { launchTemplateData: { instanceMarketOptions: { marketType: 'spot' } } };
  const l1 = synth((s) => new ec2.CfnLaunchTemplate(s, 'Template', spot));
  assert.deepEqual(Object.values(roles(l1.template)), ['spot.amazonaws.com']);
  const onDemand = synth((s) => new ec2.CfnLaunchTemplate(s, 'Template', { launchTemplateData: { instanceType: 't3.micro' } }));
  assert.deepEqual(roles(onDemand.template), {});
  const overridden = synth((s) => {
    new ec2.CfnLaunchTemplate(s, 'Template', { launchTemplateData: { instanceType: 't3.micro' } }).addPropertyOverride(
      'LaunchTemplateData.InstanceMarketOptions.MarketType',
      'spot',
    );
  });
  assert.deepEqual(Object.values(roles(overridden.template)), ['spot.amazonaws.com']);
  const removed = synth((s) => {
    new ec2.CfnLaunchTemplate(s, 'Template', spot).addPropertyDeletionOverride('LaunchTemplateData.InstanceMarketOptions');
  });
  assert.deepEqual(roles(removed.template), {});
});
