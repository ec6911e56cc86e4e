import { defineConfig } from 'vite';

// `npm run dev` proxies the server's routes to a running `wangge serve`
// (WANGGE_URL, default the demo's address), so the dev viewer sees real data.
declare const process: { env: Record<string, string | undefined> };
const target = process.env.WANGGE_URL ?? 'http://127.0.0.1:8080';
const proxied = ['/api', '/health', '/tiles'];

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // MapLibre alone is ~1 MB minified; one chunk is fine for an intranet app.
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }])),
  },
  preview: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }])),
  },
});
