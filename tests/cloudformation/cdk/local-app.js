// The example app (examples/cdk, compiled to dist/) as test_cdk.py deploys it with cdklocal;
// modules resolve from examples/cdk/node_modules (NODE_PATH). Two changes for LocalStack:
//
// - The functions are built for this host's architecture: LocalStack runs them as processes
//   here, and the package may default to another one (arm64).
// - A function that answers CloudFormation itself PUTs only to AWS's S3 endpoints. LocalStack's
//   presigned ResponseURL is on its own endpoint, so this app adds that endpoint as an extra
//   prefix, as the SAM app's ExtraResponseUrlPrefixes parameter does. The library has no option
//   for it: in AWS no stack needs one.
const path = require('node:path');
const os = require('node:os');
const { App } = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');

const endpoint = process.env.LOCALSTACK_RESPONSE_URL_PREFIX;
if (!endpoint) throw new Error('LOCALSTACK_RESPONSE_URL_PREFIX is not set');
const example = process.env.UPSERT_SLR_EXAMPLE_APP;
if (!example) throw new Error('UPSERT_SLR_EXAMPLE_APP does not name the compiled example app');

const architecture = { x64: lambda.Architecture.X86_64, arm64: lambda.Architecture.ARM_64 }[os.arch()];
const app = new App();
for (const stack of require(path.resolve(example)).exampleApp(app, { architecture })) {
  // By shape: the library may load its own copy of aws-cdk-lib.
  const ours = stack.node.findAll().filter((c) => typeof c.addEnvironment === 'function' && c.runtime?.name === 'provided.al2023');
  for (const fn of ours) fn.addEnvironment('UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES', endpoint);
}
app.synth();
