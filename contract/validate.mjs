// Validates an AsyncAPI document with the official parser (its JSON Schema and Spectral rules).
// Usage: node contract/validate.mjs contract/asyncapi.yaml
// Prints every diagnostic; exits 1 if any has error severity, 2 on bad usage.
import { resolve } from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const SEVERITY = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs <asyncapi.yaml>');
  process.exit(2);
}

const { document, diagnostics } = await fromFile(new Parser(), resolve(path)).parse();
for (const { severity, code, path: where, message } of diagnostics) {
  console.log(`${SEVERITY[severity] ?? severity}\t${code}\t/${where.join('/')}\t${message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
console.log(`${path}: ${document ? 'parsed' : 'NOT parsed'}, ${diagnostics.length} diagnostic(s), ${errors} error(s)`);
process.exit(errors > 0 || !document ? 1 : 0);
