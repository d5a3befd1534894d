// tap's coverage map: every spec measures src/, the code floe ships — not bin/floe.js, nor the specs' own
// helpers and fixtures. Plain JS: tap loads it in the runner process, which has no TypeScript loader.
export default () => 'src/**/*.ts';
