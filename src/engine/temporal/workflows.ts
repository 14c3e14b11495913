/**
 * The workflow module the worker bundles (Temporal registers each export by its name).
 * Workflow code only: no Node built-ins, activities imported as types.
 */
import { DEFINITIONS } from '../workflows/index.js';
import { createRunWorkflow } from './run-workflow.js';

export const countersignRun = createRunWorkflow(DEFINITIONS);
