// An example app using upsert-slr-cdk from this checkout: `make cdk-lib` at the root, then
// `npm ci && npx cdk synth` here.
import {
  App,
  Aspects,
  CfnOutput,
  CfnParameter,
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  aws_lambda as lambda,
  aws_redshift as redshift,
} from 'aws-cdk-lib';
import { Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoleProps, ServiceLinkedRoles } from 'upsert-slr-cdk';

/** What a deployment may choose for the example's functions. */
export interface ExampleOptions {
  /** The functions' architecture; by default the one the package picks. */
  readonly architecture?: lambda.Architecture;
}

/** The example's stacks, in `app`. */
export function exampleApp(app: App, options: ExampleOptions = {}): Stack[] {
  const { architecture } = options;

  // The default: the stack's one function answers CloudFormation itself.
  const stack = new Stack(app, 'UpsertSlrExample');
  const ecs = rolesOfTheApp(stack, { architecture });
  new CfnOutput(stack, 'EcsRoleArn', { value: ecs.roleArn });
  new CfnOutput(stack, 'EcsRoleCreated', { value: ecs.created });

  // The same roles behind the CDK Provider: waits cost no Lambda time, for three more functions
  // and a state machine.
  const provider = new Stack(app, 'UpsertSlrExampleProvider');
  const providerEcs = rolesOfTheApp(provider, { architecture, backing: Backing.PROVIDER });
  new CfnOutput(provider, 'EcsRoleArn', { value: providerEcs.roleArn });
  new CfnOutput(provider, 'EcsRoleCreated', { value: providerEcs.created });

  // One function for the account and region, exporting its ARN as upsert-slr-ServiceToken...
  const shared = new Stack(app, 'UpsertSlrExampleFunction');
  new ServiceLinkedRoleFunction(shared, 'UpsertSlr', {
    allowedServices: ['elasticloadbalancing.amazonaws.com'],
    architecture,
  });

  // ...and a stack using it: nothing but its role, no asset and no bootstrap-version rule, so
  // its template deploys as plain CloudFormation (a StackSet, an account never bootstrapped).
  const roles = new Stack(app, 'UpsertSlrExampleShared', {
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  const elb = new ServiceLinkedRole(roles, 'ElbRole', {
    awsServiceName: 'elasticloadbalancing.amazonaws.com',
    serviceToken: ServiceLinkedRoleFunction.importServiceToken(),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Through the export's name: cdk deploy must deploy the function first.
  roles.addStackDependency(shared);
  new CfnOutput(roles, 'ElbRoleArn', { value: elb.roleArn });
  new CfnOutput(roles, 'ElbRoleName', { value: elb.roleName });
  new CfnOutput(roles, 'ElbRoleCreated', { value: elb.created });

  // Stacks that name no role: the aspect declares Redshift's in each stack with a cluster, and
  // makes the cluster wait for it. Whichever deploys first creates the role, the other adopts it.
  const warehouses = ['UpsertSlrExampleWarehouse', 'UpsertSlrExampleWarehouse2'].map((name) => {
    const warehouse = new Stack(app, name);
    const password = new CfnParameter(warehouse, 'MasterUserPassword', { noEcho: true, minLength: 8 });
    new redshift.CfnCluster(warehouse, 'Warehouse', {
      clusterType: 'single-node',
      nodeType: 'ra3.large',
      dbName: 'dev',
      masterUsername: 'admin',
      masterUserPassword: password.valueAsString,
    });
    return warehouse;
  });
  Aspects.of(app).add(new ServiceLinkedRoles({ architecture, propagationWait: Duration.seconds(30), removalPolicy: RemovalPolicy.DESTROY }));

  return [stack, provider, shared, roles, ...warehouses];
}

/** An ECS role, adopted when it exists, and an Auto Scaling role the stack owns; returns the ECS one. */
function rolesOfTheApp(stack: Stack, props: Partial<ServiceLinkedRoleProps>): ServiceLinkedRole {
  const ecs = new ServiceLinkedRole(stack, 'EcsRole', {
    ...props,
    awsServiceName: 'ecs.amazonaws.com',
    description: 'Role for ECS, managed by upsert-slr',
  });
  new ServiceLinkedRole(stack, 'AutoScalingRole', {
    ...props,
    awsServiceName: 'autoscaling.amazonaws.com',
    customSuffix: 'example',
    propagationWait: Duration.seconds(30),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return ecs;
}

if (require.main === module) exampleApp(new App());
