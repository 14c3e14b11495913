import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { JsonObject } from '../../src/core/model.js';

/**
 * The demo target a schema_change_plan run reads: `<dataDir>/demo-target/production.sqlite`
 * with a `users` table that has a `legacy_flag` column (the demo seed has none), three rows.
 */
export function seedPlanTarget(dataDir: string, database = 'production'): string {
  const dir = path.join(dataDir, 'demo-target');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${database}.sqlite`);
  const db = new Database(file);
  try {
    db.exec(
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, legacy_flag INTEGER, created_at TEXT NOT NULL)',
    );
    const insert = db.prepare(
      'INSERT INTO users (email, legacy_flag, created_at) VALUES (?, ?, ?)',
    );
    for (const [i, email] of [
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ].entries())
      insert.run(email, i % 2, '2026-01-01T00:00:00.000Z');
  } finally {
    db.close();
  }
  return file;
}

/** The columns of a table in a SQLite file, read-only. */
export function columnsOf(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** The demo request of the README: add email_verified NOT NULL, backfill it, drop legacy_flag. */
export const SCHEMA_PLAN_REQUEST: JsonObject = {
  request: 'Add a NOT NULL column email_verified to users, backfill it, and drop legacy_flag.',
  changes: [
    {
      action: 'add_column',
      table: 'users',
      column: 'email_verified',
      column_type: 'boolean',
      not_null: true,
      backfill_value: false,
    },
    { action: 'drop_column', table: 'users', column: 'legacy_flag' },
  ],
  ticket: 'CHG-2041',
};
