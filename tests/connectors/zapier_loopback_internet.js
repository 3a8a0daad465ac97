// Preloaded (`node --require`) before zapier_driver.js: a loopback stand-in for the internet, so the
// real zapier-platform-core runtime can be pointed at hosts such as https://<service-host>.evil.net
// without any traffic leaving the machine (the tests' rule: loopback only).
//
// Every request Node's http/https modules are asked to make is written down first -- the URL the
// runtime asked for and the headers the runtime put on it (before Node adds anything, such as Basic
// auth from URL userinfo) -- as one JSON line in $MEDIAGEN_REQUEST_LOG, then sent over plain HTTP to
// $MEDIAGEN_ROUTE_TO (a loopback server) instead of its host, so the runtime gets a real answer.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');

const route = new URL(process.env.MEDIAGEN_ROUTE_TO);
const logFile = process.env.MEDIAGEN_REQUEST_LOG;
const plainRequest = http.request;

const targetOf = (options) => {
  if (typeof options === 'string' || options instanceof URL) return new URL(String(options)).href;
  if (options.href) return options.href;
  const protocol = options.protocol || 'http:';
  const host = options.host || `${options.hostname}${options.port ? `:${options.port}` : ''}`;
  return `${protocol}//${host}${options.path || '/'}`;
};

const rerouted = (options, callback) => {
  const target = targetOf(options);
  const headers = (typeof options === 'object' && !(options instanceof URL) && options.headers) || {};
  const seen = {};
  for (const [name, value] of Object.entries(headers)) seen[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  fs.appendFileSync(logFile, `${JSON.stringify({ url: target, headers: seen })}\n`);
  const where = new URL(target);
  return plainRequest(
    {
      protocol: 'http:',
      hostname: route.hostname,
      port: route.port,
      method: options.method || 'GET',
      path: `${where.pathname}${where.search}`,
      headers: { ...headers, host: route.host },
    },
    callback,
  );
};

http.request = rerouted;
https.request = rerouted;
