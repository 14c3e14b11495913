import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OPERATIONS, type Operation } from '../surfaces/operations.js';

/**
 * The typed client's catalogue (src/client/operations.ts), generated from the operations
 * catalogue: each operation's input and output as TypeScript types (from the same zod schemas
 * the doors validate with) and its HTTP route. `npm run client:types` writes it; a test fails
 * when the committed file is not current. The client imports nothing of the server.
 */
export const CLIENT_TYPES_FILE = 'src/client/operations.ts';

type Json = Record<string, unknown>;

class Emitter {
  /** Shared definitions ($defs), by their JSON text: one type alias each. */
  readonly defs = new Map<string, { name: string; body: string }>();

  emit(schema: unknown, local: Readonly<Record<string, string>>, indent: string): string {
    if (schema === true || schema === undefined) return 'unknown';
    if (schema === false) return 'never';
    const s = schema as Json;
    if (typeof s.$ref === 'string') {
      const name = local[s.$ref];
      if (!name) throw new Error(`unresolved $ref ${s.$ref}`);
      return name;
    }
    if ('const' in s) return JSON.stringify(s.const);
    if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    // Beside a type, anyOf only constrains it (zod's refinements): the type says enough.
    for (const k of ['anyOf', 'oneOf'] as const)
      if (Array.isArray(s[k]) && s.type === undefined)
        return union((s[k] as unknown[]).map((x) => this.emit(x, local, indent)));
    if (Array.isArray(s.allOf))
      return (s.allOf as unknown[]).map((x) => `(${this.emit(x, local, indent)})`).join(' & ');
    if (s.not !== undefined && Object.keys(s.not as Json).length === 0) return 'never';
    if (Array.isArray(s.type))
      return union((s.type as unknown[]).map((t) => this.emit({ ...s, type: t }, local, indent)));
    switch (s.type) {
      case 'string':
        return 'string';
      case 'number':
      case 'integer':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array':
        if (Array.isArray(s.prefixItems))
          return `[${s.prefixItems.map((x) => this.emit(x, local, indent)).join(', ')}]`;
        return `Array<${this.emit(s.items, local, indent)}>`;
      case 'object':
        return this.object(s, local, indent);
      default:
        return 'unknown';
    }
  }

  private object(s: Json, local: Readonly<Record<string, string>>, indent: string): string {
    const props = (s.properties ?? {}) as Record<string, Json>;
    const required = new Set((s.required ?? []) as string[]);
    const inner = `${indent}  `;
    const lines: string[] = [];
    for (const [key, value] of Object.entries(props)) {
      const doc = typeof value.description === 'string' ? value.description : undefined;
      if (doc) lines.push(`${inner}/** ${doc.replace(/\*\//g, '*\\/').replace(/\n/g, ' ')} */`);
      const name = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
      lines.push(
        `${inner}${name}${required.has(key) ? '' : '?'}: ${this.emit(value, local, inner)};`,
      );
    }
    const extra = s.additionalProperties;
    if (extra !== false && (Object.keys(props).length === 0 || extra !== undefined))
      lines.push(
        `${inner}[key: string]: ${Object.keys(props).length === 0 ? this.emit(extra, local, inner) : 'unknown'};`,
      );
    return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('\n')}\n${indent}}`;
  }

  /** The type of an operation's schema, its $defs made shared aliases. */
  schema(op: Operation, io: 'input' | 'output'): string {
    const json = z.toJSONSchema(op[io], { io, unrepresentable: 'any' }) as Json;
    // A door fills the acting-actor fields an actor's token leaves out (operations.ts).
    if (io === 'input' && Array.isArray(json.required))
      json.required = json.required.filter((k) => !op.actorFields.includes(k as string));
    const defs = (json.$defs ?? {}) as Record<string, unknown>;
    const local: Record<string, string> = {};
    const pending: [string, unknown][] = [];
    for (const [key, def] of Object.entries(defs)) {
      const text = JSON.stringify(def);
      let shared = this.defs.get(text);
      if (!shared) {
        shared = { name: `Shared${this.defs.size + 1}`, body: '' };
        this.defs.set(text, shared);
        pending.push([shared.name, def]);
      }
      local[`#/$defs/${key}`] = shared.name;
    }
    for (const [name, def] of pending) {
      const entry = [...this.defs.values()].find((d) => d.name === name)!;
      entry.body = this.emit(def, local, '');
    }
    return this.emit(json, local, '    ');
  }
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  return unique.join(' | ');
}

/** The text of src/client/operations.ts for the catalogue as it is now. */
export function clientTypesSource(operations: readonly Operation[] = OPERATIONS): string {
  const e = new Emitter();
  const entries = operations.map((op) => {
    const input = e.schema(op, 'input');
    const output = e.schema(op, 'output');
    const doc = `${op.title}. ${op.description}`.replace(/\*\//g, '*\\/');
    return `  /** ${doc} */\n  ${op.name}: {\n    input: ${input};\n    output: ${output};\n  };`;
  });
  const routes = operations.map(
    (op) =>
      `  ${op.name}: { method: '${op.http.method}', path: '${op.http.path}', write: ${op.write}, privileged: ${op.privileged} },`,
  );
  const shared = [...e.defs.values()].map((d) => `export type ${d.name} = ${d.body};\n`);
  return `// Generated from the operations catalogue by \`npm run client:types\` (src/main/client-types.ts).
// Do not edit: a test fails when this file differs from what the catalogue generates.
/* eslint-disable */

${shared.join('\n')}
/** Every operation of the catalogue: its input (as sent) and output (as answered). */
export interface Operations {
${entries.join('\n')}
}

/** The HTTP route of each operation; \`{name}\` path segments come from the input. */
export const ROUTES = {
${routes.join('\n')}
} as const;
`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(path.resolve(CLIENT_TYPES_FILE), clientTypesSource());
  process.stdout.write(`${CLIENT_TYPES_FILE}\n`);
}
