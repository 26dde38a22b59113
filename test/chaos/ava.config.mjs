// The chaos suite (`npm run test:chaos`): the box as its own process under every kind of
// client at once, modem faults and SIGKILLs, for 3 minutes. Kept out of `npm test` and of
// the reliability suite; an explicit --config replaces package.json's ava settings.
export default {
  files: ['dist/test/chaos/**/*.chaos.js'],
  // One test of 3 minutes of chaos plus the drain of the queue (at most 4 minutes).
  timeout: '12m',
  workerThreads: false,
  concurrency: 1,
};
