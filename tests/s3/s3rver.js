#!/usr/bin/env node
// kahu tests: start s3rver (pinned in package-lock.json) on 127.0.0.1 with an
// ephemeral port and the given buckets; print "READY PORT" once it listens.
//   node s3rver.js DIR BUCKET...
'use strict';
const S3rver = require('s3rver');

const [dir, ...buckets] = process.argv.slice(2);
if (!dir) {
  console.error('usage: s3rver.js DIR BUCKET...');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  // The verifying proxy in front (s3proxy.py) checks every signature and forwards
  // requests without them; s3rver only stores.
  allowMismatchedSignatures: true,
  configureBuckets: buckets.map(name => ({ name })),
});
server.run().then(
  addr => {
    process.stdout.write(`READY ${addr.port}\n`);
  },
  err => {
    console.error(`s3rver: ${err.message}`);
    process.exit(1);
  },
);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close().then(() => process.exit(0)));
}
