import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	// `vite dev` calls the local stack's gateway as the built app calls its own origin.
	server: {
		proxy: { '/graphql': { target: 'http://127.0.0.1:8080', ws: true } }
	},
	// Unit tests of the pages' logic (no browser, no network): `npm test`.
	test: { include: ['src/**/*.test.ts'], environment: 'node' }
});
