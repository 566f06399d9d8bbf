import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
    },
  },
  build: { outDir: "dist", chunkSizeWarningLimit: 1500 },
  test: { environment: "happy-dom" },
});
