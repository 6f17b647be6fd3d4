// Preloaded into nodejs functions (node --require). Code written for AWS, such as the CDK
// Provider framework's cfn-response, PUTs its answer with https.request to the ResponseURL's
// host on port 443. Here that URL points at LocalStack's S3 over plain HTTP, so a request to
// LocalStack's host without an explicit port goes to LocalStack's gateway instead. Nothing
// listens on 443 and requests to any other host are left alone.
'use strict';
const http = require('node:http');
const https = require('node:https');

const endpoint = process.env.AWS_ENDPOINT_URL ? new URL(process.env.AWS_ENDPOINT_URL) : null;
const originalRequest = https.request;

function toLocalStack(options) {
  if (!endpoint || endpoint.protocol !== 'http:' || !options || typeof options !== 'object') return null;
  const hostname = options.hostname || (options.host || '').split(':')[0];
  const port = options.port || (options.host || '').split(':')[1];
  if (hostname !== endpoint.hostname || (port && Number(port) !== 443)) return null;
  const rest = { ...options, protocol: 'http:', hostname, port: endpoint.port || 80 };
  delete rest.host;
  delete rest.agent;
  return rest;
}

https.request = function request(input, options, callback) {
  if (typeof input === 'string' || input instanceof URL) {
    const url = new URL(input);
    const merged = { hostname: url.hostname, port: url.port, path: url.pathname + url.search, ...(typeof options === 'object' ? options : {}) };
    const redirected = toLocalStack(merged);
    if (redirected) return http.request(redirected, typeof options === 'function' ? options : callback);
  } else {
    const redirected = toLocalStack(input);
    if (redirected) return http.request(redirected, options);
  }
  return originalRequest.apply(this, arguments);
};
