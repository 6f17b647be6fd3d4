// The example app (examples/cdk, compiled to dist/) as test_cdk.py deploys it with cdklocal;
// modules resolve from examples/cdk/node_modules (NODE_PATH). The app is the example's, with
// the package's defaults (the rig runs an arm64 function under qemu-user and lets it answer
// LocalStack's ResponseURL); one addition for the test: the stacks whose role the
// ServiceLinkedRoles aspect adds get outputs naming that role, for the test to read whether it
// created or adopted it.
const path = require('node:path');
const { App, CfnOutput, Lazy } = require('aws-cdk-lib');

const example = process.env.UPSERT_SLR_EXAMPLE_APP;
if (!example) throw new Error('UPSERT_SLR_EXAMPLE_APP does not name the compiled example app');

const app = new App();
const stacks = require(path.resolve(example)).exampleApp(app);
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
