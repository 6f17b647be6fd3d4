// The stack of the end-to-end test (e2e.test.ts), synthesized with upsert-slr-cdk: the function
// runs with the environment the library gives it, and each request carries the properties the
// library wrote into the template. Written to $CDK_OUTDIR by scripts/workshop/cdk.py.
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Backing, ServiceLinkedRole } from 'upsert-slr-cdk';

const app = new App();
const stack = new Stack(app, 'UpsertSlrE2e');
const backing = Backing.PROVIDER;
new ServiceLinkedRole(stack, 'EcsRole', { awsServiceName: 'ecs.amazonaws.com', propagationWait: Duration.seconds(0), backing });
new ServiceLinkedRole(stack, 'ElbRole', {
  backing,
  awsServiceName: 'elasticloadbalancing.amazonaws.com',
  propagationWait: Duration.seconds(3),
  removalPolicy: RemovalPolicy.DESTROY,
});
new ServiceLinkedRole(stack, 'SuffixedEcsRole', { awsServiceName: 'ecs.amazonaws.com', customSuffix: 'x', backing });
new ServiceLinkedRole(stack, 'AutoScalingRole', {
  backing,
  awsServiceName: 'autoscaling.amazonaws.com',
  propagationWait: Duration.seconds(3),
  removalPolicy: RemovalPolicy.DESTROY,
});
// The function itself as the ServiceToken, sharing the function with the roles above.
new ServiceLinkedRole(stack, 'DirectEksRole', {
  awsServiceName: 'eks.amazonaws.com',
  propagationWait: Duration.seconds(2),
  removalPolicy: RemovalPolicy.DESTROY,
  backing: Backing.DIRECT,
});
app.synth();
