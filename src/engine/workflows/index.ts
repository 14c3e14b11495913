import type { AnyDefinition } from '../catalogue.js';
import { opsChangeControl } from './ops-change-control.js';
import { planActivation } from './plan-activation.js';
import { safeAiAssisted } from './safe-ai-assisted.js';
import { schemaChangePlan } from './schema-change-plan.js';

/**
 * The workflow definitions every runtime runs. The embedded runtime and the Temporal worker's
 * workflow bundle both read this list: a definition added here runs on either.
 */
export const DEFINITIONS: readonly AnyDefinition[] = [
  opsChangeControl,
  safeAiAssisted,
  planActivation,
  schemaChangePlan,
];
