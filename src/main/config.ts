import path from 'node:path';

export interface Config {
  /** Holds the embedded database, the demo target and local state. */
  readonly dataDir: string;
  /** When set, the store is Postgres instead of SQLite. */
  readonly databaseUrl: string | undefined;
  /** A directory of `.cedar` files replacing the default policies. */
  readonly policyDir: string | undefined;
  /** Where send_notification POSTs, when set. */
  readonly webhookUrl: string | undefined;
  readonly tenant: string;
  /** The model agents use unless a definition names one: `rules/v1` or `openai-compatible/<model>`. */
  readonly model: string | undefined;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const blank = (v: string | undefined) => (v && v.trim() !== '' ? v : undefined);
  return {
    dataDir: path.resolve(blank(env.COUNTERSIGN_DATA_DIR) ?? '.countersign'),
    databaseUrl: blank(env.COUNTERSIGN_DATABASE_URL),
    policyDir: blank(env.COUNTERSIGN_POLICY_DIR),
    webhookUrl: blank(env.COUNTERSIGN_WEBHOOK_URL),
    tenant: blank(env.COUNTERSIGN_TENANT) ?? 'default',
    model: blank(env.COUNTERSIGN_MODEL),
  };
}
