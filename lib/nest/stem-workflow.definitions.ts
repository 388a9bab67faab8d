import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ArgsType } from '../core/task-handler.js';
import { DuplicateWorkflowError } from '../core/workflow/errors/duplicate-workflow.error.js';
import type { WorkflowDefinition } from '../core/workflow/workflow-definition.js';
import type { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import { STEM_WORKFLOW_RUNTIME } from './stem.constants.js';

/** One discovered `@Workflow()` class. */
export interface StemWorkflowEntry {
  readonly definition: WorkflowDefinition;
  readonly options: WorkflowDecoratorOptions;
  /** The class it comes from (`FulfilOrder`). */
  readonly source: string;
}

/**
 * The `@Workflow()` classes found at module init, by workflow name; each is registered with the
 * workflow runtime as it is added.
 */
@Injectable()
export class StemWorkflowDefinitions {
  private readonly entries = new Map<string, StemWorkflowEntry>();

  constructor(@Optional() @Inject(STEM_WORKFLOW_RUNTIME) private readonly runtime: WorkflowRuntime | null = null) {}

  /**
   * Adds a workflow and registers it with the runtime.
   * @throws DuplicateWorkflowError naming both classes when the name is taken
   */
  add(entry: StemWorkflowEntry): void {
    const name = entry.definition.name;
    const existing = this.entries.get(name);
    if (existing) throw new DuplicateWorkflowError(name, existing.source, entry.source);
    this.runtime?.register(entry.definition);
    this.entries.set(name, entry);
  }

  /** The workflow named `name`, when this app defines it. */
  get(name: string): StemWorkflowEntry | undefined {
    return this.entries.get(name);
  }

  /** The params DTO of workflow `name`, when this app defines it with one. */
  paramsOf(name: string): ArgsType | undefined {
    return this.entries.get(name)?.options.params;
  }

  /** How many workflows this app defines. */
  get size(): number {
    return this.entries.size;
  }

  /** Every workflow, in discovery order. */
  list(): StemWorkflowEntry[] {
    return [...this.entries.values()];
  }
}
