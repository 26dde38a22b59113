// The reliability suite (`npm run test:reliability`): long-running tests kept
// out of `npm test`. An explicit --config replaces package.json's ava settings.
export default {
  files: ['dist/test/reliability/**/*.rel.js'],
  timeout: '10m',
  workerThreads: false,
  // Power cuts and 1,000-connection floods measure latency: one file at a time.
  concurrency: 1,
};
