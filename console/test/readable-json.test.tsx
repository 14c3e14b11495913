// @vitest-environment happy-dom
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadableJson } from '../src/components/ReadableJson.js';

afterEach(cleanup);

describe('ReadableJson', () => {
  it('shows a dry-run plan as facts, tables of rows, SQL as code and the raw JSON one click away', () => {
    render(
      <ReadableJson
        label="Dry-run plan"
        value={{
          database: 'production',
          statements: ['ALTER TABLE users ADD COLUMN flags TEXT', 'UPDATE users SET flags = NULL'],
          tables: [
            { name: 'users', rows: 1200 },
            { name: 'orders', rows: 30 },
          ],
          would_fail: 'the table is locked',
          owner: 'dana@example.com',
        }}
      />,
    );
    const plan = screen.getByRole('group', { name: 'Dry-run plan' });
    expect(within(plan).getByText('database').nextSibling?.textContent).toBe('production');
    const sql = plan.querySelector('pre.sql')!;
    expect(sql.textContent).toBe(
      'ALTER TABLE users ADD COLUMN flags TEXT;\nUPDATE users SET flags = NULL;',
    );
    const table = within(plan).getByRole('table');
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    expect(within(table).getByText('1200')).toBeTruthy();
    expect(plan.querySelector('.warn-text')?.textContent).toBe('the table is locked');
    // Redacted here as in the JSON view, and said so.
    expect(plan.textContent).not.toContain('dana@example.com');
    expect(plan.textContent).toContain('1 sensitive value redacted');
    const raw = screen.getByLabelText('Dry-run plan (raw JSON)');
    expect(raw.closest('details')?.open).toBe(false);
    expect(JSON.parse(raw.textContent)).toMatchObject({ database: 'production' });
  });
});
