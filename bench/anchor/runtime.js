// A minimal Lambda runtime for Node: the loop the managed Node.js runtime runs around a
// handler, without its extras, so that the npm package upsert-slr's own handler runs under the
// same Lambda Runtime API as the Rust function.
//
//   node runtime.js     (AWS_LAMBDA_RUNTIME_API=host:port)
//
// Init loads the handler module (which builds its IAM client), as Lambda's init phase does;
// then: poll /next, call handler(event, context), POST /response or /error, repeat.
'use strict';
const http = require('node:http');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: base + path, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorBody(err) {
  return JSON.stringify({ errorType: (err && err.name) || 'Error', errorMessage: String(err && err.message) });
}

async function main() {
  let handler;
  try {
    ({ handler } = require('upsert-slr/lambda/dist/index.js'));
  } catch (err) {
    await request('POST', '/init/error', errorBody(err));
    process.exit(1);
  }
  for (;;) {
    const next = await request('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const context = {
      awsRequestId: id,
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      callbackWaitsForEmptyEventLoop: true,
    };
    try {
      const result = await handler(JSON.parse(next.body), context);
      await request('POST', `/invocation/${id}/response`, JSON.stringify(result ?? null));
    } catch (err) {
      await request('POST', `/invocation/${id}/error`, errorBody(err));
    }
  }
}

main();
