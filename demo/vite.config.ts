import react from "@vitejs/plugin-react";
import { resolve } from "node:path";
import { defineConfig } from "vite";

/**
 * `npm run build:demo`: the pages, prebuilt into demo/dist (served by `tsx demo/server.ts
 * --static`): the demo, its StrictMode variant and the shared-connection window.
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, "index.html"),
        strict: resolve(import.meta.dirname, "strict.html"),
        shared: resolve(import.meta.dirname, "shared.html"),
      },
    },
  },
});
