/**
 * Your own governed tools, named in configuration instead of written into the composition root.
 *
 * Where they come from (the first that is set):
 * - `COUNTERSIGN_TOOLS`: one or more files, separated by commas, relative to the working
 *   directory;
 * - `countersign.config.json` in the working directory, if there is one.
 *
 * What a file may be:
 * - an ES module (`.js`, `.mjs`) whose default export is an array of tools made with
 *   `defineTool` (or one tool); without a default export, every named export must be a tool;
 * - a JSON file `{ "tools": [ … ] }` whose entries are HTTP tool declarations (objects, see
 *   adapters/tools/http-tool.ts) or paths of further files (strings, relative to the JSON file).
 *
 * Everything is checked before anything starts: a file that cannot be read or imported, an
 * export that is not a tool, a malformed declaration, a name that breaks the tool-name rule,
 * that two of your tools share, or that a built-in tool already has is a VALIDATION_FAILED
 * naming the file, and the process does not start. A tool module cannot replace a built-in
 * tool or another tool by reusing its name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHttpTool, parseHttpToolDeclaration } from '../adapters/tools/http-tool.js';
import { CountersignError } from '../core/errors.js';
import { TOOL_NAME, type ToolDefinition } from '../core/ports/tools.js';

/** Looked for in the working directory when COUNTERSIGN_TOOLS is unset. */
export const CONFIG_FILE = 'countersign.config.json';

const RISKS = new Set(['read', 'write', 'irreversible']);

export interface LoadToolsOptions {
  /** COUNTERSIGN_TOOLS as given (comma-separated paths); undefined: look for CONFIG_FILE. */
  spec: string | undefined;
  /** Relative paths in `spec` and where CONFIG_FILE is looked for. */
  cwd: string;
  /** Where HTTP tools find their secrets. */
  env: NodeJS.ProcessEnv;
  /** Names already taken (the built-in tools): none of yours may reuse one. */
  reserved: ReadonlySet<string>;
}

function invalid(message: string, details: Record<string, unknown> = {}): CountersignError {
  return new CountersignError('VALIDATION_FAILED', message, {
    ...details,
    issues: [{ path: 'COUNTERSIGN_TOOLS', message }],
  });
}

/** Your tools, checked; an empty list when nothing is configured. */
export async function loadOwnTools(options: LoadToolsOptions): Promise<ToolDefinition[]> {
  const files = sourceFiles(options);
  const loaded: { tool: ToolDefinition; file: string }[] = [];
  const visited = new Set<string>();
  for (const file of files) await loadFile(file, options.env, visited, loaded);
  const seen = new Map<string, string>();
  for (const { tool, file } of loaded) {
    if (options.reserved.has(tool.name))
      throw invalid(
        `${file}: the tool name "${tool.name}" belongs to a built-in tool; a tool of your own cannot replace it, choose another name.`,
        { file, tool: tool.name },
      );
    const earlier = seen.get(tool.name);
    if (earlier !== undefined)
      throw invalid(
        `${file}: the tool name "${tool.name}" is used twice${earlier === file ? ' in this file' : ` (also in ${earlier})`}; tool names must be unique.`,
        { file, tool: tool.name },
      );
    seen.set(tool.name, file);
  }
  return loaded.map((l) => l.tool);
}

function sourceFiles(options: LoadToolsOptions): string[] {
  if (options.spec !== undefined && options.spec.trim() !== '') {
    const parts = options.spec
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    return parts.map((p) => path.resolve(options.cwd, p));
  }
  const config = path.join(options.cwd, CONFIG_FILE);
  return fs.existsSync(config) ? [config] : [];
}

async function loadFile(
  file: string,
  env: NodeJS.ProcessEnv,
  visited: Set<string>,
  out: { tool: ToolDefinition; file: string }[],
): Promise<void> {
  if (visited.has(file)) throw invalid(`${file} is named twice (or includes itself).`, { file });
  visited.add(file);
  if (!fs.existsSync(file)) throw invalid(`${file} does not exist.`, { file });
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return loadJson(file, env, visited, out);
  if (ext === '.js' || ext === '.mjs') {
    for (const tool of await loadModule(file)) out.push({ tool, file });
    return;
  }
  throw invalid(`${file}: a tools file must be an ES module (.js, .mjs) or JSON (.json).`, {
    file,
  });
}

async function loadModule(file: string): Promise<ToolDefinition[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw invalid(`${file} could not be loaded: ${firstLine(e)}`, { file });
  }
  const entries: [string, unknown][] =
    'default' in mod
      ? Array.isArray(mod.default)
        ? mod.default.map((t, i) => [`default[${i}]`, t] as [string, unknown])
        : [['default', mod.default]]
      : Object.entries(mod);
  if (entries.length === 0)
    throw invalid(
      `${file} exports no tools: export default [defineTool({ … }), …], or export each tool by name.`,
      { file },
    );
  return entries.map(([name, value]) => asTool(value, `${file}: export ${name}`));
}

/** A tool made by defineTool (or written out with the same shape), or a clear refusal. */
function asTool(value: unknown, where: string): ToolDefinition {
  const t = value as Partial<Record<keyof ToolDefinition, unknown>> | null;
  const problem =
    typeof t !== 'object' || t === null
      ? 'is not a tool (make it with defineTool)'
      : typeof t.name !== 'string' || !TOOL_NAME.test(t.name)
        ? `has the name ${JSON.stringify(t.name)}, which is not a tool name (a letter, then letters, digits, _ . : -, at most 128)`
        : typeof t.description !== 'string' || t.description.trim() === ''
          ? 'has no description'
          : typeof t.risk !== 'string' || !RISKS.has(t.risk)
            ? 'has no risk (read, write or irreversible)'
            : typeof t.idempotent !== 'boolean'
              ? 'does not say whether it is idempotent'
              : typeof t.inputSchema !== 'object' || t.inputSchema === null
                ? 'has no input schema'
                : typeof t.validate !== 'function' ||
                    typeof t.plan !== 'function' ||
                    typeof t.apply !== 'function'
                  ? 'lacks validate, plan or apply (make it with defineTool)'
                  : t.describe !== undefined && typeof t.describe !== 'function'
                    ? 'has a describe that is not a function'
                    : null;
  if (problem !== null) throw invalid(`${where} ${problem}.`);
  return t as ToolDefinition;
}

async function loadJson(
  file: string,
  env: NodeJS.ProcessEnv,
  visited: Set<string>,
  out: { tool: ToolDefinition; file: string }[],
): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalid(`${file} is not readable JSON: ${firstLine(e)}`, { file });
  }
  const tools = (raw as { tools?: unknown } | null)?.tools;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Array.isArray(tools))
    throw invalid(`${file} must be a JSON object with a "tools" array.`, { file });
  for (const [i, entry] of tools.entries()) {
    const where = `${file}: tools[${i}]`;
    if (typeof entry === 'string') {
      await loadFile(path.resolve(path.dirname(file), entry), env, visited, out);
      continue;
    }
    const decl = parseHttpToolDeclaration(entry, where);
    out.push({ tool: createHttpTool(decl, { env, where }), file });
  }
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]!.slice(0, 300);
}
