// Drive a generated Zapier app through zapier-platform-core, as Zapier's own runner would: one JSON
// request on argv[3] (a file), one JSON answer on stdout.
//   {"command": "validate"}                          -> the core's schema + app checks
//   {"method": "creates.x.operation.perform", "bundle": {...}, "callback_url": "..."}
'use strict';

const fs = require('fs');
const path = require('path');

const appDir = path.resolve(process.argv[2]);
const request = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const zapier = require(path.join(appDir, 'node_modules', 'zapier-platform-core'));
const App = require(appDir);

const main = async () => {
  const handler = zapier.createAppHandler(App);
  const event = request.command === 'validate'
    ? { command: 'validate' }
    : { command: 'execute', method: request.method, bundle: request.bundle, callback_url: request.callback_url };
  const output = await handler(event, {});
  return { status: output.status || null, results: output.results };
};

main().then(
  (answer) => process.stdout.write('\n@@RESULT@@' + JSON.stringify({ ok: true, ...answer })),
  (error) => process.stdout.write('\n@@RESULT@@' + JSON.stringify({ ok: false, error: String(error && error.message || error),
                                                    name: error && error.name })),
);
