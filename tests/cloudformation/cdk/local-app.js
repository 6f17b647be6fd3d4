// The example app (examples/cdk, compiled to dist/) as test_cdk.py deploys it with cdklocal;
// modules resolve from examples/cdk/node_modules (NODE_PATH). Two changes for LocalStack:
//
// - The functions are built for this host's architecture: LocalStack runs them as processes
//   here, and the package may default to another one (arm64).
// - The stacks whose role the ServiceLinkedRoles aspect adds get outputs naming that role, for
//   the test to read whether it created or adopted it.
// - A function that answers CloudFormation itself PUTs only to AWS's S3 endpoints. LocalStack's
//   presigned ResponseURL is on its own endpoint, so this app adds that endpoint as an extra
//   prefix, as the SAM app's ExtraResponseUrlPrefixes parameter does. The library has no option
//   for it: in AWS no stack needs one.
const path = require('node:path');
const os = require('node:os');
const { App, Aspects, CfnOutput, Lazy } = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');

const endpoint = process.env.LOCALSTACK_RESPONSE_URL_PREFIX;
if (!endpoint) throw new Error('LOCALSTACK_RESPONSE_URL_PREFIX is not set');
const example = process.env.UPSERT_SLR_EXAMPLE_APP;
if (!example) throw new Error('UPSERT_SLR_EXAMPLE_APP does not name the compiled example app');

const architecture = { x64: lambda.Architecture.X86_64, arm64: lambda.Architecture.ARM_64 }[os.arch()];
const app = new App();
const stacks = require(path.resolve(example)).exampleApp(app, { architecture });
// An aspect, added after the example's: it sees the functions the ServiceLinkedRoles aspect adds.
Aspects.of(app).add({
  visit(node) {
    if (!stacks.includes(node)) return;
    // By shape: the library may load its own copy of aws-cdk-lib.
    const ours = node.node.findAll().filter((c) => typeof c.addEnvironment === 'function' && c.runtime?.name === 'provided.al2023');
    for (const fn of ours) fn.addEnvironment('UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES', endpoint);
  },
});
for (const stack of stacks) {
  if (stack.stackName.startsWith('UpsertSlrExampleWarehouse')) {
    // Added by the aspect, so there only once aspects have run: at synth, when these resolve.
    const role = () => {
      const found = stack.node.findAll().find((c) => c.constructor.name === 'ServiceLinkedRole');
      if (!found) throw new Error(`the aspect added no ServiceLinkedRole to ${stack.stackName}`);
      return found;
    };
    new CfnOutput(stack, 'RoleName', { value: Lazy.string({ produce: () => role().roleName }) });
    new CfnOutput(stack, 'RoleCreated', { value: Lazy.string({ produce: () => role().created }) });
  }
}
app.synth();
