import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../core/model.js';
import {
  approvalDecisionSchema,
  approvalRequestSchema,
  workflowContext,
  workflowStepResult,
} from '../core/workflow-schemas.js';
import { changeProposalBriefJsonSchema } from '../engine/plan-brief.js';
import { opsChangeInput } from '../engine/workflows/ops-schemas.js';
import { safeAiInput } from '../engine/workflows/safe-ai-schemas.js';
import { schemaChangePlanInput } from '../engine/workflows/schema-plan-schemas.js';

/**
 * Seed 001's shared workflow contracts (prompt 11.1) and the definitions' inputs, as JSON
 * Schema files generated from the code's zod schemas. `npm run schemas` writes them to
 * schemas/; a test fails when the committed files are not current.
 */
const SCHEMAS: Readonly<Record<string, z.ZodType | (() => JsonObject)>> = {
  'WorkflowContext.json': workflowContext,
  'WorkflowStepResult.json': workflowStepResult,
  'ApprovalRequest.json': approvalRequestSchema,
  'ApprovalDecision.json': approvalDecisionSchema,
  'OpsChangeControlInput.json': opsChangeInput,
  'SafeAiAssistedInput.json': safeAiInput,
  'SchemaChangePlanInput.json': schemaChangePlanInput,
  // Written for strict structured output (src/engine/plan-brief.ts).
  'ChangeProposalBrief.json': changeProposalBriefJsonSchema,
};

export function jsonSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const json =
      typeof schema === 'function'
        ? schema()
        : z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    const doc = {
      $id: `https://countersign.dev/schemas/${name}`,
      title: name.replace(/\.json$/, ''),
      ...json,
    };
    files[name] = `${JSON.stringify(doc, null, 2)}\n`;
  }
  return files;
}

/** Writes the files into `dir` (schemas/ by default) and returns their names. */
export function writeJsonSchemas(dir = path.resolve('schemas')): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = jsonSchemaFiles();
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return Object.keys(files);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const name of writeJsonSchemas()) process.stdout.write(`schemas/${name}\n`);
}
