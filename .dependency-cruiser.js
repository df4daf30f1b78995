// @ts-check
'use strict';
/**
 * The one-way layers (README, "How the code is laid out"), checked by `npm run lint` and by
 * test/layers/layers.test.ts: lib ← checks ← config ← hooks ← handlers, bin, rehearsal, appspec, watch.
 * A layer imports only those below it; of the top folders only bin/ (the CLI) imports another
 * (rehearsal/, appspec/, watch/); bench and test may import anything; no cycles anywhere.
 * Type-only imports count too: a type from a higher layer ties the lower one to it all the same.
 */
const layers = [
  { name: 'lib', may: [] },
  { name: 'checks', may: ['lib'] },
  { name: 'config', may: ['checks', 'lib'] },
  { name: 'hooks', may: ['config', 'checks', 'lib'] },
];
const TOP = ['handlers', 'bin', 'rehearsal', 'appspec', 'watch'];
const ALL = [...layers.map((l) => l.name), ...TOP];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: split the shared part into a module both import.',
      from: {},
      to: { circular: true },
    },
    ...layers.map(({ name, may }) => ({
      name: `${name}-imports-only-below`,
      severity: /** @type {const} */ ('error'),
      comment: `${name}/ may import ${may.length ? may.map((m) => `${m}/`).join(', ') : 'nothing of ours'}: move a shared helper down to the lower layer.`,
      from: { path: `^${name}/` },
      to: { path: `^(${ALL.filter((l) => l !== name && !may.includes(l)).join('|')})/` },
    })),
    {
      name: 'shipped-code-imports-no-tests',
      severity: 'error',
      comment: 'Shipped code never imports bench/ or test/.',
      from: { path: `^(${ALL.join('|')})/` },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'only-bin-sits-on-the-other-top-folders',
      severity: 'error',
      comment:
        'The CLI (bin/) runs rehearsals and renders appspecs; nothing else on top imports another top folder: what two of them share moves down.',
      from: { path: '^(handlers|rehearsal|appspec|watch)/' },
      to: { path: `^(${TOP.join('|')})/`, pathNot: '^$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.build|\\.serverless)/' },
    tsPreCompilationDeps: true,
    moduleSystems: ['cjs', 'es6'],
  },
};
