#!/usr/bin/env node
// kahu tests: read what kahu wrote with an independent S3 client (the AWS SDK for
// JavaScript, pinned in package-lock.json), through the verifying proxy, so the proxy's
// signature check is itself checked against the SDK's signer.
//   node s3client.js ENDPOINT BUCKET list [PREFIX]      -> "KEY SIZE" per line
//   node s3client.js ENDPOINT BUCKET get KEY            -> the object on stdout
//   node s3client.js ENDPOINT BUCKET head KEY           -> the answer's metadata as JSON
//   node s3client.js ENDPOINT BUCKET fill PREFIX N      -> N small objects PREFIXi
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
'use strict';
const {
  S3Client,
  ListObjectsV2Command,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} = require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, bucket, op, arg] = process.argv.slice(2);
  const s3 = new S3Client({
    endpoint,
    region: process.env.AWS_REGION || 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  });
  if (op === 'list') {
    let token;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: arg || '', ContinuationToken: token }),
      );
      for (const o of r.Contents || []) process.stdout.write(`${o.Key} ${o.Size}\n`);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  } else if (op === 'get') {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: arg }));
    const bytes = await r.Body.transformToByteArray();
    process.stdout.write(Buffer.from(bytes));
  } else if (op === 'head') {
    const r = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: arg }));
    process.stdout.write(
      JSON.stringify({
        size: r.ContentLength,
        lockMode: r.ObjectLockMode || null,
        retainUntil: r.ObjectLockRetainUntilDate || null,
      }) + '\n',
    );
  } else if (op === 'fill') {
    const n = Number(process.argv[6]);
    for (let i = 0; i < n; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 50); j++) {
        const key = `${arg}${String(j).padStart(5, '0')}`;
        batch.push(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key })));
      }
      await Promise.all(batch);
    }
  } else {
    throw new Error(`unknown operation ${op}`);
  }
}

main().catch(err => {
  console.error(`s3client: ${err.name}: ${err.message}`);
  process.exit(1);
});
