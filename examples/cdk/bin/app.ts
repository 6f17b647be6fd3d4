// An example app using upsert-slr-cdk from this checkout: `make cdk-lib` at the root, then
// `npm ci && npx cdk synth` here.
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Backing, ServiceLinkedRole } from 'upsert-slr-cdk';

const app = new App();

// Behind the CDK Provider (the default): waits cost no Lambda time.
const stack = new Stack(app, 'UpsertSlrExample');
const ecs = new ServiceLinkedRole(stack, 'EcsRole', {
  awsServiceName: 'ecs.amazonaws.com',
  description: 'Role for ECS, managed by upsert-slr',
});
new ServiceLinkedRole(stack, 'AutoScalingRole', {
  awsServiceName: 'autoscaling.amazonaws.com',
  customSuffix: 'example',
  propagationWait: Duration.seconds(30),
  removalPolicy: RemovalPolicy.DESTROY,
});
new CfnOutput(stack, 'EcsRoleArn', { value: ecs.roleArn });
new CfnOutput(stack, 'EcsRoleCreated', { value: ecs.created });

// The function as the ServiceToken: one Lambda function in the stack and nothing else.
const direct = new Stack(app, 'UpsertSlrExampleDirect');
const elb = new ServiceLinkedRole(direct, 'ElbRole', {
  awsServiceName: 'elasticloadbalancing.amazonaws.com',
  backing: Backing.DIRECT,
});
new CfnOutput(direct, 'ElbRoleArn', { value: elb.roleArn });
