import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration suites start their own SMTP peers on port 0; two cores, so keep it modest
    maxWorkers: 2,
  },
});
