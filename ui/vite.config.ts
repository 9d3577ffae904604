import { cpSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/** pdf.js's wasm, character maps and standard fonts, served from the app's
 * own origin (the CSP allows nothing else). */
function pdfjsAssets(): Plugin {
  return {
    name: 'coffre-pdfjs-assets',
    apply: 'build',
    closeBundle() {
      const from = resolve(import.meta.dirname, 'node_modules/pdfjs-dist');
      for (const dir of ['wasm', 'cmaps', 'standard_fonts', 'iccs']) {
        cpSync(resolve(from, dir), resolve(import.meta.dirname, 'dist/pdfjs', dir), { recursive: true });
      }
    },
  };
}

export default defineConfig({
  plugins: [svelte(), pdfjsAssets()],
  clearScreen: false,
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
});
