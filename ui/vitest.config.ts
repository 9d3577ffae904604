import { defineConfig } from 'vitest/config';

// The UI's logic (catalogues, formatting, the wizard), without a browser.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
