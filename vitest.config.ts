import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // The package by its own name, as an app imports it (test/testing/app-example.test.ts),
    // from the sources: exact matches only, so that one entry never swallows another.
    alias: [
      { find: /^@softphone\/websocket\/testing$/, replacement: source("./src/testing/index.ts") },
      { find: /^@softphone\/websocket\/react$/, replacement: source("./src/react/index.ts") },
      { find: /^@softphone\/websocket$/, replacement: source("./src/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    // Two cores: integration files each start real servers, so keep two workers at most.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
