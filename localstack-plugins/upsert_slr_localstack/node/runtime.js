// The loop Lambda's managed Node.js runtime runs around a handler, reduced to what functions
// deployed by CloudFormation and CDK need: load `_HANDLER` (module.function) from
// LAMBDA_TASK_ROOT, then poll /invocation/next, call the handler (async or callback style) and
// post its result or error, forever.
'use strict';
const path = require('node:path');

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;

// What the context tells about the function itself, from the variables Lambda sets.
const functionContext = Object.fromEntries(
  Object.entries({
    functionName: 'AWS_LAMBDA_FUNCTION_NAME',
    functionVersion: 'AWS_LAMBDA_FUNCTION_VERSION',
    memoryLimitInMB: 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
    logGroupName: 'AWS_LAMBDA_LOG_GROUP_NAME',
    logStreamName: 'AWS_LAMBDA_LOG_STREAM_NAME',
  }).map(([key, variable]) => [key, process.env[variable]]),
);

async function call(method, route, body) {
  const res = await fetch(api + route, { method, body });
  return { headers: res.headers, body: await res.text() };
}

function errorBody(err) {
  const name = (err && err.name) || 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const trace = err instanceof Error && err.stack ? err.stack.split('\n') : [];
  return JSON.stringify({ errorType: name, errorMessage: message, trace });
}

function loadHandler() {
  const spec = process.env._HANDLER || '';
  const dot = spec.lastIndexOf('.');
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${spec}`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = path.resolve(process.env.LAMBDA_TASK_ROOT, spec.slice(0, dot));
  const mod = require(modulePath);
  const fn = spec.slice(dot + 1).split('.').reduce((o, k) => (o == null ? o : o[k]), mod);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

function run(handler, event, context) {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  return new Promise((resolve, reject) => {
    const result = handler(event, context, (err, value) => (err ? reject(err) : resolve(value)));
    if (result && typeof result.then === 'function') result.then(resolve, reject);
  });
}

async function main() {
  let handler;
  try {
    handler = loadHandler();
  } catch (err) {
    console.error(err);
    await call('POST', '/init/error', errorBody(err));
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = next.headers.get('lambda-runtime-aws-request-id');
    const deadline = Number(next.headers.get('lambda-runtime-deadline-ms'));
    const context = {
      ...functionContext,
      awsRequestId: id,
      invokedFunctionArn: next.headers.get('lambda-runtime-invoked-function-arn'),
      getRemainingTimeInMillis: () => deadline - Date.now(),
      callbackWaitsForEmptyEventLoop: true,
    };
    try {
      const result = await run(handler, JSON.parse(next.body), context);
      await call('POST', `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      console.error(err);
      await call('POST', `/invocation/${id}/error`, errorBody(err));
    }
  }
}

main();
