// An example app: `npx cdk synth` after `make build` at the root of the checkout.
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { ServiceLinkedRole } from '../lib/service-linked-role';

const app = new App();
const stack = new Stack(app, 'UpsertSlrExample');

const ecs = new ServiceLinkedRole(stack, 'EcsRole', {
  awsServiceName: 'ecs.amazonaws.com',
  description: 'Role for ECS, managed by upsert-slr',
  codePath: app.node.tryGetContext('upsertSlrCodePath'),
});
new ServiceLinkedRole(stack, 'AutoScalingRole', {
  awsServiceName: 'autoscaling.amazonaws.com',
  customSuffix: 'example',
  propagationWait: Duration.seconds(30),
  removalPolicy: RemovalPolicy.DESTROY,
});

new CfnOutput(stack, 'EcsRoleArn', { value: ecs.roleArn });
