import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** `npm run build:demo`: the page, prebuilt into demo/dist (served by `tsx demo/server.ts --static`). */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  logLevel: "warn",
  build: { outDir: "dist", emptyOutDir: true },
});
