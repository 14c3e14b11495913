import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFiles } from '../src/main/json-schemas.js';

describe('schemas/', () => {
  const files = jsonSchemaFiles();

  it('holds the current JSON Schema of every contract (run `npm run schemas` after a change)', () => {
    for (const [name, text] of Object.entries(files)) {
      const file = path.resolve('schemas', name);
      expect(fs.existsSync(file), `${file} is missing`).toBe(true);
      expect(fs.readFileSync(file, 'utf8'), `${name} is stale`).toBe(text);
    }
    expect(fs.readdirSync('schemas').sort()).toEqual(Object.keys(files).sort());
  });

  it('are valid JSON Schema that accept a real WorkflowContext and refuse a broken one', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(files['WorkflowContext.json']!) as object);
    const ctx = {
      workflow_id: 'run_0123456789abcdef0123',
      tenant_id: 'default',
      actor: 'operator',
      purpose: 'change control',
      case_id: null,
      current_step: 'risk_review',
      allowed_tools: ['config_set'],
      approval_required: true,
    };
    expect(validate(ctx)).toBe(true);
    expect(validate({ ...ctx, approval_required: 'yes' })).toBe(false);
    const { workflow_id: _drop, ...missing } = ctx;
    expect(validate(missing)).toBe(false);
  });
});
