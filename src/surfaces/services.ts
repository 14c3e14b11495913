import type { Kernel } from '../core/kernel.js';
import type { WorkflowOps } from '../core/workflow-ops.js';
import type { WorkflowEngine } from '../engine/port.js';

/** What the front doors call: the kernel, the workflow operations and the engine port. */
export interface Services {
  readonly kernel: Kernel;
  readonly workflows: WorkflowOps;
  readonly engine: WorkflowEngine;
}
