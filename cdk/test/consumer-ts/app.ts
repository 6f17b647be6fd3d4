// A user's app: two roles, one of them with every option, synthesized into $CDK_OUTDIR.
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { ServiceLinkedRole } from 'upsert-slr-cdk';

const app = new App();
const stack = new Stack(app, 'UpsertSlrTypeScript');
const ecs = new ServiceLinkedRole(stack, 'EcsRole', {
  awsServiceName: 'ecs.amazonaws.com',
  description: 'Service-linked role for Amazon ECS',
});
new ServiceLinkedRole(stack, 'AutoScalingRole', {
  awsServiceName: 'autoscaling.amazonaws.com',
  customSuffix: 'consumer',
  propagationWait: Duration.seconds(30),
  removalPolicy: RemovalPolicy.DESTROY,
});
new CfnOutput(stack, 'EcsRoleArn', { value: ecs.roleArn });
app.synth();
