// The CDK Provider framework's own runtime, as shipped in aws-cdk-lib, in front of the function
// running under a Lambda emulator (`cargo lambda watch`) against LocalStack IAM and S3.
//
// What stands in for AWS: the framework's Lambda client calls the emulator
// (AWS_ENDPOINT_URL_LAMBDA); its response PUT to CloudFormation and its Step Functions call are
// captured; the waiter state machine is played here (call isComplete, a Retry means "not yet").
// Every request carries a real presigned LocalStack S3 URL as ResponseURL, which the function
// receives from the framework and is allowed to PUT to: nothing must ever appear there, the
// framework's answer is the only one. A resource with direct backing is the control: its
// requests go to the function itself, which answers at that URL.
//
// What runs is what upsert-slr-cdk synthesizes: the function has the environment of the
// template of e2e-stack.ts, and every request carries the properties of one of its resources.
//
// Started by scripts/workshop/cdk.py, which provides LOCALSTACK_ENDPOINT, UPSERT_SLR_FUNCTION_ENDPOINT
// (the emulator), UPSERT_SLR_ACCOUNT (the fresh LocalStack account the function runs in) and
// UPSERT_SLR_TEMPLATE (the synthesized template) and UPSERT_SLR_CLOUDFORMATION_PORT (where the
// function's CloudFormation calls go: this test's stand-in, which shows the stack in the phase a
// request needs; LocalStack's CloudFormation cannot hold a stack in the phase that deletes).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { InvokeCommandInput, Lambda } from '@aws-sdk/client-lambda';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/workshop/cdk.py (make cdk-test)`);
  return value;
}
const LOCALSTACK = required('LOCALSTACK_ENDPOINT').replace(/\/$/, '');
const FUNCTION_ENDPOINT = required('UPSERT_SLR_FUNCTION_ENDPOINT');
const ACCOUNT = required('UPSERT_SLR_ACCOUNT');
const TEMPLATE = JSON.parse(fs.readFileSync(required('UPSERT_SLR_TEMPLATE'), 'utf8'));
const CLOUDFORMATION_PORT = Number(required('UPSERT_SLR_CLOUDFORMATION_PORT'));
/** The emulator knows the function by its plain name. */
const FUNCTION_NAME = 'upsert-slr';
const QUERY_INTERVAL_MS = 1000;

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_ENDPOINT_URL_LAMBDA: FUNCTION_ENDPOINT,
  USER_ON_EVENT_FUNCTION_ARN: FUNCTION_NAME,
  USER_IS_COMPLETE_FUNCTION_ARN: FUNCTION_NAME,
  WAITER_STATE_MACHINE_ARN: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:UpsertSlrProviderwaiter`,
});

// The package's exports do not list the runtime: require it by path.
const runtime = path.join(path.dirname(require.resolve('aws-cdk-lib')), 'custom-resources/lib/provider-framework/runtime');
const framework = require(path.join(runtime, 'framework.js'));
const outbound = require(path.join(runtime, 'outbound.js'));
const cfnResponse = require(path.join(runtime, 'cfn-response.js'));
const frameworkUtil = require(path.join(runtime, 'util.js'));

interface Invocation {
  payload: any;
  functionError?: string;
  result: any;
}
interface FrameworkResponse {
  options: any;
  body: any;
}

/** What happened during one request: read by the assertions, reset by `deploy`. */
let invocations: Invocation[] = [];
let responses: FrameworkResponse[] = [];
let executions: Array<{ stateMachineArn: string; input: string }> = [];
let frameworkLog: string[] = [];

frameworkUtil.log = (title: string, ...args: unknown[]) => {
  frameworkLog.push([title, ...args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a)))].join(' '));
};

// `cargo lambda watch` answers a function error with HTTP 500; Lambda answers 200 with
// X-Amz-Function-Error. Without this the SDK would retry the 500 and the framework wait for
// the function to become active, for minutes.
const lambda = new Lambda({ maxAttempts: 1 });
lambda.middlewareStack.add(
  (next) => async (args) => {
    const result: any = await next(args);
    if (result.response?.statusCode === 500) {
      result.response.statusCode = 200;
      result.response.headers['x-amz-function-error'] = 'Unhandled';
    }
    return result;
  },
  { step: 'deserialize', priority: 'low', name: 'emulatorFunctionErrors' },
);

outbound.invokeFunction = async (request: InvokeCommandInput) => {
  const response = await lambda.invoke(request);
  const text = new TextDecoder().decode(response.Payload ?? new Uint8Array());
  invocations.push({
    payload: JSON.parse(request.Payload as unknown as string),
    functionError: response.FunctionError,
    result: text ? JSON.parse(text) : undefined,
  });
  return response;
};
// The framework PUTs its answer to the ResponseURL's host on port 443 (https): keep it here.
outbound.httpRequest = async (options: any, body: string) => {
  responses.push({ options, body: JSON.parse(body) });
};
outbound.startExecution = async (request: { stateMachineArn: string; input: string }) => {
  executions.push(request);
  return { executionArn: `${request.stateMachineArn}:execution-${executions.length}`, startDate: new Date() };
};

// CloudFormation's side: presigned S3 URLs in LocalStack (signature version 2 here, over an
// empty Content-Type: the Content-Type the function sends is signed too).
const BUCKET = 'cfn-responses';

function presign(key: string): string {
  const expires = Math.floor(Date.now() / 1000) + 600;
  const signature = crypto.createHmac('sha1', 'test').update(`PUT\n\n\n${expires}\n/${BUCKET}/${key}`).digest('base64');
  const query = new URLSearchParams({ AWSAccessKeyId: 'test', Expires: String(expires), Signature: signature });
  return `${LOCALSTACK}/${BUCKET}/${key}?${query}`;
}

/** What was PUT at `key`, if anything. */
async function putAt(key: string): Promise<any | undefined> {
  const response = await fetch(`${LOCALSTACK}/${BUCKET}/${key}`);
  if (response.status === 404) return undefined;
  assert.ok(response.ok, `GET ${key}: ${response.status}`);
  return response.json();
}

/** A call to LocalStack IAM as the function's account. */
async function iam(action: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${LOCALSTACK}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: `AWS4-HMAC-SHA256 Credential=${ACCOUNT}/20260101/us-east-1/iam/aws4_request, SignedHeaders=content-type;host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-08', ...params }),
  });
  return { status: response.status, body: await response.text() };
}

async function roleExists(name: string): Promise<boolean> {
  const { status, body } = await iam('GetRole', { RoleName: name });
  assert.ok(status === 200 || body.includes('NoSuchEntity'), `GetRole ${name}: ${status} ${body}`);
  return status === 200;
}

const STACK_ID = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/cdk-e2e/${crypto.randomUUID()}`;
const FRAMEWORK_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:cdk-e2e-UpsertSlrProviderframeworkonEv-1Q2W3E4R5T6Y`;
const arnOf = (service: string, role: string) => `arn:aws:iam::${ACCOUNT}:role/aws-service-role/${service}/${role}`;
let requests = 0;

/**
 * What CloudFormation shows of STACK_ID: a Delete removes a role only when CloudFormation is
 * deleting in the stack, which the function asks it (DescribeStacks, ListStackResources).
 */
let stackStatus = 'CREATE_COMPLETE';
const cloudFormationCalls: string[] = [];
const cloudFormation = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    cloudFormationCalls.push(action);
    const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    const answer = (status: number, xml: string) => {
      response.writeHead(status, { 'content-type': 'text/xml' });
      response.end(xml);
    };
    if (params.get('StackName') !== STACK_ID) {
      return answer(400, `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${params.get('StackName')} does not exist</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`);
    }
    const meta = `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>`;
    if (action === 'DescribeStacks') {
      return answer(200, `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks><member><StackId>${STACK_ID}</StackId><StackName>cdk-e2e</StackName><CreationTime>2026-11-23T04:00:00.000Z</CreationTime><StackStatus>${stackStatus}</StackStatus><DisableRollback>false</DisableRollback><Tags/><Outputs/><Parameters/></member></Stacks></DescribeStacksResult>${meta}</DescribeStacksResponse>`);
    }
    if (action === 'ListStackResources') {
      // Every resource of a stack being deleted is itself being deleted: none holds a role.
      return answer(200, `<ListStackResourcesResponse xmlns="${ns}"><ListStackResourcesResult><StackResourceSummaries/></ListStackResourcesResult>${meta}</ListStackResourcesResponse>`);
    }
    answer(400, `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action} is not answered here</Message></Error></ErrorResponse>`);
  });
});
cloudFormation.listen(CLOUDFORMATION_PORT, '127.0.0.1');
after(() => cloudFormation.close());

function cloudFormationRequest(type: string, logicalId: string, properties: Record<string, string>, extra: object = {}) {
  const key = `cdk-e2e-${ACCOUNT}-${++requests}-${type.toLowerCase()}`;
  const event = {
    RequestType: type,
    ServiceToken: FRAMEWORK_ARN,
    ResponseURL: presign(key),
    StackId: STACK_ID,
    RequestId: crypto.randomUUID(),
    LogicalResourceId: logicalId,
    ResourceType: 'Custom::ServiceLinkedRole',
    ResourceProperties: { ServiceToken: FRAMEWORK_ARN, ...properties } as Record<string, string>,
    ...extra,
  };
  return { key, event };
}

/** The logical id of the resource the construct `name` of e2e-stack.ts synthesized. */
function logicalIdOf(name: string): string {
  const ids = Object.keys(TEMPLATE.Resources).filter((id) => new RegExp(`^${name}[0-9A-F]{8}$`).test(id));
  assert.equal(ids.length, 1, `one resource for ${name}: ${ids}`);
  return ids[0];
}

/**
 * The request CloudFormation would make for the template's resource `name`: its properties as
 * CloudFormation sends them (scalars as strings, without the ServiceToken), and the function
 * (`via`) its ServiceToken names.
 */
function resource(name: string, via: string): { logicalId: string; properties: Record<string, string> } {
  const logicalId = logicalIdOf(name);
  const { Type, Properties } = TEMPLATE.Resources[logicalId];
  assert.equal(Type, 'Custom::ServiceLinkedRole');
  assert.deepEqual(Properties.ServiceToken, { 'Fn::GetAtt': [logicalIdOf(via), 'Arn'] });
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(Properties)) {
    assert.ok(key === 'ServiceToken' || ['string', 'number'].includes(typeof value), `${key}: ${JSON.stringify(value)}`);
    if (key !== 'ServiceToken') properties[key] = String(value);
  }
  return { logicalId, properties };
}

test('the template puts the function behind the Provider, as onEvent and isComplete handler', () => {
  const ours = { 'Fn::GetAtt': [logicalIdOf('UpsertSlrFunction'), 'Arn'] };
  const framework = TEMPLATE.Resources[logicalIdOf('UpsertSlrProviderframeworkonEvent')].Properties;
  assert.equal(framework.Handler, 'framework.onEvent');
  assert.deepEqual(framework.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN, ours);
  assert.deepEqual(framework.Environment.Variables.USER_IS_COMPLETE_FUNCTION_ARN, ours);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One CloudFormation request through the Provider: the framework's onEvent, then, when it
 * started the waiter, isComplete every QUERY_INTERVAL_MS until it stops asking for a retry.
 */
async function deploy(type: string, name: string, extra: object = {}) {
  const { logicalId, properties } = resource(name, 'UpsertSlrProviderframeworkonEvent');
  const { key, event } = cloudFormationRequest(type, logicalId, properties, extra);
  invocations = [];
  responses = [];
  executions = [];
  frameworkLog = [];
  const started = Date.now();
  await framework.onEvent(structuredClone(event));
  const onEventMs = Date.now() - started;
  let retries = 0;
  assert.ok(executions.length <= 1, 'at most one waiter');
  if (executions.length === 1) {
    const input = JSON.parse(executions[0].input);
    for (;;) {
      try {
        await framework.isComplete(structuredClone(input));
        break;
      } catch (e) {
        if (!(e instanceof cfnResponse.Retry)) throw e;
        retries++;
        assert.ok(Date.now() - started < 60_000, 'isComplete never completed');
        await sleep(QUERY_INTERVAL_MS);
      }
    }
  }
  const log = () => `\nframework log:\n${frameworkLog.join('\n')}`;
  assert.equal(responses.length, 1, `the framework answers exactly once${log()}`);
  const [response] = responses;
  assert.equal(response.options.method, 'PUT');
  assert.equal(response.options.headers['content-type'], '');
  assert.equal(response.options.path, new URL(event.ResponseURL).pathname + new URL(event.ResponseURL).search);
  assert.equal(await putAt(key), undefined, 'the function must not PUT a response of its own');
  for (const invocation of invocations) {
    assert.equal(invocation.payload.ResponseURL, event.ResponseURL, 'the function was given the ResponseURL');
  }
  return {
    event,
    answer: response.body,
    invocations,
    waiter: executions[0] ? JSON.parse(executions[0].input) : undefined,
    retries,
    onEventMs,
    totalMs: Date.now() - started,
    log,
  };
}

/**
 * One CloudFormation request for a resource whose ServiceToken is the function itself: invoked
 * by CloudFormation, the function answers at the ResponseURL.
 */
async function invokeDirectly(type: string, name: string, extra: object = {}) {
  const { logicalId, properties } = resource(name, 'UpsertSlrFunction');
  const { key, event } = cloudFormationRequest(type, logicalId, properties, extra);
  const own = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${FUNCTION_NAME}`;
  const direct = { ...event, ServiceToken: own, ResourceProperties: { ...event.ResourceProperties, ServiceToken: own } as Record<string, string> };
  const started = Date.now();
  const response = await lambda.invoke({ FunctionName: FUNCTION_NAME, Payload: JSON.stringify(direct) });
  assert.equal(response.FunctionError, undefined, new TextDecoder().decode(response.Payload));
  return { event: direct, answer: await putAt(key), ms: Date.now() - started };
}

test('direct backing: the function answers CloudFormation itself, after the propagation wait', async () => {
  const created = await fetch(`${LOCALSTACK}/${BUCKET}`, { method: 'PUT' });
  assert.ok(created.ok || created.status === 409, `bucket: ${created.status}`);
  const run = await invokeDirectly('Create', 'DirectEksRole');
  assert.equal(run.event.ResourceProperties.PropagationWaitSeconds, '2');
  assert.equal(run.answer?.Status, 'SUCCESS', JSON.stringify(run.answer));
  assert.equal(run.answer.PhysicalResourceId, 'AWSServiceRoleForAmazonEKS');
  assert.deepEqual(run.answer.Data, {
    RoleName: 'AWSServiceRoleForAmazonEKS',
    Arn: arnOf('eks.amazonaws.com', 'AWSServiceRoleForAmazonEKS'),
    Created: 'true',
  });
  assert.ok(run.ms >= 2000, `answered after ${run.ms} ms, before the wait was over`);

  // A Delete while the stack is not deleting anything (sent by hand, or replayed) keeps it.
  const kept = await invokeDirectly('Delete', 'DirectEksRole', { PhysicalResourceId: 'AWSServiceRoleForAmazonEKS' });
  assert.equal(kept.answer?.Status, 'SUCCESS', JSON.stringify(kept.answer));
  assert.equal(
    kept.answer.Reason,
    `retained AWSServiceRoleForAmazonEKS: stack ${STACK_ID} is CREATE_COMPLETE, a status in which CloudFormation deletes no resource, so this Delete did not come from it`,
  );
  assert.ok(await roleExists('AWSServiceRoleForAmazonEKS'), 'a Delete CloudFormation is not making keeps the role');

  stackStatus = 'DELETE_IN_PROGRESS';
  cloudFormationCalls.length = 0;
  const removed = await invokeDirectly('Delete', 'DirectEksRole', { PhysicalResourceId: 'AWSServiceRoleForAmazonEKS' });
  stackStatus = 'CREATE_COMPLETE';
  assert.equal(removed.answer?.Status, 'SUCCESS', JSON.stringify(removed.answer));
  assert.ok(cloudFormationCalls.includes('DescribeStacks'), `CloudFormation was asked: ${cloudFormationCalls}`);
  assert.equal(await roleExists('AWSServiceRoleForAmazonEKS'), false, 'the stack delete removes the role it created');
});

test('Create: the role is created, the framework gives its name and ARN', async () => {
  const run = await deploy('Create', 'EcsRole');
  assert.deepEqual(run.event.ResourceProperties, {
    ServiceToken: FRAMEWORK_ARN,
    ServiceTimeout: run.event.ResourceProperties.ServiceTimeout,
    AWSServiceName: 'ecs.amazonaws.com',
    PropagationWaitSeconds: '0',
    RemovalPolicy: 'Retain',
  });
  assert.equal(run.answer.Status, 'SUCCESS', run.answer.Reason + run.log());
  assert.equal(run.answer.PhysicalResourceId, 'AWSServiceRoleForECS');
  assert.equal(run.answer.RequestId, run.event.RequestId);
  assert.equal(run.answer.StackId, STACK_ID);
  assert.equal(run.answer.LogicalResourceId, logicalIdOf('EcsRole'));
  assert.deepEqual(run.answer.Data, {
    RoleName: 'AWSServiceRoleForECS',
    Arn: arnOf('ecs.amazonaws.com', 'AWSServiceRoleForECS'),
    Created: 'true',
  });
  assert.deepEqual(run.waiter.UpsertSlrWait, { UntilEpochMs: run.waiter.UpsertSlrWait.UntilEpochMs });
  assert.equal(run.retries, 0, 'no wait asked for');
  assert.equal(run.invocations.length, 2, 'onEvent and one isComplete');
  assert.ok(await roleExists('AWSServiceRoleForECS'));
});

test('Create of a role made outside the stack a moment ago: adopted, complete once its wait is over', async () => {
  const madeAt = Date.now();
  const made = await iam('CreateServiceLinkedRole', { AWSServiceName: 'elasticloadbalancing.amazonaws.com' });
  assert.equal(made.status, 200, made.body);
  const run = await deploy('Create', 'ElbRole');
  assert.equal(run.event.ResourceProperties.PropagationWaitSeconds, '3');
  assert.equal(run.answer.Status, 'SUCCESS', run.answer.Reason + run.log());
  assert.equal(run.answer.PhysicalResourceId, 'AWSServiceRoleForElasticLoadBalancing');
  assert.deepEqual(run.answer.Data, {
    RoleName: 'AWSServiceRoleForElasticLoadBalancing',
    Arn: arnOf('elasticloadbalancing.amazonaws.com', 'AWSServiceRoleForElasticLoadBalancing'),
    Created: 'false',
  });
  // The wait counts from the role's creation, whoever created it.
  assert.ok(run.retries >= 1, 'isComplete answered false at least once');
  assert.ok(Date.now() - madeAt >= 3000, 'complete before the role was 3 s old');
});

test('a Create IAM refuses fails with IAM\'s message, and its Delete never reaches the function', async () => {
  const run = await deploy('Create', 'SuffixedEcsRole');
  assert.equal(run.answer.Status, 'FAILED');
  assert.match(run.answer.Reason, /InvalidInput: Custom suffix is not allowed for ecs\.amazonaws\.com/);
  assert.equal(run.answer.PhysicalResourceId, cfnResponse.CREATE_FAILED_PHYSICAL_ID_MARKER);
  assert.equal(run.waiter, undefined, 'no waiter for a failed onEvent');
  assert.equal(run.invocations.length, 1);
  assert.equal(run.invocations[0].functionError, 'Unhandled');
  assert.equal(await roleExists('AWSServiceRoleForECS_x'), false);

  const cleanup = await deploy('Delete', 'SuffixedEcsRole', {
    PhysicalResourceId: run.answer.PhysicalResourceId,
  });
  assert.equal(cleanup.answer.Status, 'SUCCESS');
  assert.equal(cleanup.invocations.length, 0, 'the framework answers this Delete itself');
});

test('isComplete waits out PropagationWaitSeconds: onEvent returns at once, the answer comes after the wait', async () => {
  const run = await deploy('Create', 'AutoScalingRole');
  assert.equal(run.event.ResourceProperties.PropagationWaitSeconds, '3');
  assert.equal(run.answer.Status, 'SUCCESS', run.answer.Reason + run.log());
  assert.ok(run.onEventMs < 3000, `onEvent took ${run.onEventMs} ms: the function waited`);
  assert.ok(run.totalMs >= 3000, `answered after ${run.totalMs} ms, before the wait was over`);
  assert.ok(run.retries >= 1, 'isComplete answered false at least once');
  const checks = run.invocations.slice(1).map((i) => i.result);
  assert.deepEqual(checks.slice(0, -1), Array(checks.length - 1).fill({ IsComplete: false }));
  const data = {
    RoleName: 'AWSServiceRoleForAutoScaling',
    Arn: arnOf('autoscaling.amazonaws.com', 'AWSServiceRoleForAutoScaling'),
    Created: 'true',
  };
  assert.deepEqual(checks.at(-1), { IsComplete: true, Data: data });
  assert.equal(run.answer.PhysicalResourceId, 'AWSServiceRoleForAutoScaling');
  assert.deepEqual(run.answer.Data, data);
});

test('Delete through the Provider, in a stack delete: removes the role this resource created, keeps the others', async (t) => {
  stackStatus = 'DELETE_IN_PROGRESS';
  t.after(() => {
    stackStatus = 'CREATE_COMPLETE';
  });
  const removed = await deploy('Delete', 'AutoScalingRole', {
    PhysicalResourceId: 'AWSServiceRoleForAutoScaling',
  });
  assert.equal(removed.answer.Status, 'SUCCESS', removed.answer.Reason + removed.log());
  assert.equal(removed.answer.PhysicalResourceId, 'AWSServiceRoleForAutoScaling');
  assert.match(removed.waiter.UpsertSlrWait.DeletionTaskId, /^task\/aws-service-role\/autoscaling\.amazonaws\.com\/AWSServiceRoleForAutoScaling\//);
  assert.equal(await roleExists('AWSServiceRoleForAutoScaling'), false);

  const retained = await deploy('Delete', 'EcsRole', {
    PhysicalResourceId: 'AWSServiceRoleForECS',
  });
  assert.equal(retained.answer.Status, 'SUCCESS', retained.answer.Reason);
  assert.ok(await roleExists('AWSServiceRoleForECS'), 'RemovalPolicy Retain keeps the role');

  const adopted = await deploy('Delete', 'ElbRole', {
    PhysicalResourceId: 'AWSServiceRoleForElasticLoadBalancing',
  });
  assert.equal(adopted.answer.Status, 'SUCCESS', adopted.answer.Reason);
  assert.ok(await roleExists('AWSServiceRoleForElasticLoadBalancing'), 'an adopted role is never deleted');
});
