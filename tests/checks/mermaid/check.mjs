// Parses each Mermaid file named on the command line with the mermaid library the code host's
// renderer uses, in a DOM from jsdom: a diagram that would render as an error fails here.
import { JSDOM } from 'jsdom';
import fs from 'node:fs';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import('mermaid')).default;

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    failed += 1;
    console.error(`FAIL ${file}: ${String(error.message ?? error).split('\n').slice(0, 4).join(' ')}`);
  }
}
console.log(`mermaid: ${process.argv.length - 2 - failed} of ${process.argv.length - 2} diagrams parsed`);
process.exit(failed ? 1 : 0);
