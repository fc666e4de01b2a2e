import { defineConfig } from "vitest/config";

// Plain `vitest run` / `pnpm test`: fast unit tests only.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.integration.test.ts", "**/node_modules/**"],
  },
});
