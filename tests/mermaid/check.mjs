// Parses Mermaid charts with the mermaid package itself, as github.com's renderer would read them.
// In: a JSON list of chart texts on standard input. Out: one JSON list of {ok, type, error}.
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const chart of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(chart);
    results.push({ ok: true, type: parsed.diagramType, error: '' });
  } catch (error) {
    results.push({ ok: false, type: '', error: String(error.message || error) });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
