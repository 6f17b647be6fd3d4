// A CDK app with one direct-backed ServiceLinkedRole: the library's function is the resource's
// ServiceToken and PUTs its answer to the ResponseURL itself. Deployed by test_cdk.py with
// cdklocal; modules resolve from examples/cdk/node_modules (NODE_PATH).
//
// The function PUTs only to AWS's S3 endpoints. LocalStack's presigned ResponseURL is on its
// own endpoint, so this app adds that endpoint as an extra prefix, as the SAM app's
// ExtraResponseUrlPrefixes parameter does. The library has no option for it: in AWS no stack
// needs one.
const { App, CfnOutput, Duration, RemovalPolicy, Stack } = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const { Backing, ServiceLinkedRole } = require('upsert-slr-cdk');

const endpoint = process.env.LOCALSTACK_RESPONSE_URL_PREFIX;
if (!endpoint) throw new Error('LOCALSTACK_RESPONSE_URL_PREFIX is not set');

const app = new App();
const stack = new Stack(app, 'UpsertSlrDirect');
const elb = new ServiceLinkedRole(stack, 'ElbRole', {
  awsServiceName: 'elasticloadbalancing.amazonaws.com',
  backing: Backing.DIRECT,
  propagationWait: Duration.seconds(5),
  removalPolicy: RemovalPolicy.DESTROY,
});
new CfnOutput(stack, 'ElbRoleArn', { value: elb.roleArn });
new CfnOutput(stack, 'ElbRoleName', { value: elb.roleName });
new CfnOutput(stack, 'ElbRoleCreated', { value: elb.created });

const functions = stack.node.findAll().filter((c) => c instanceof lambda.Function);
if (functions.length !== 1) throw new Error(`expected the stack's one function, found ${functions.length}`);
functions[0].addEnvironment('UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES', endpoint);
