/**
 * The `this` of a handler running on the event loop: a running attempt's
 * {@linkcode TaskContext}. One object per attempt, its methods on the
 * class and made only when a handler first reads them: most handlers never
 * report progress or read parents, and building five closures per attempt
 * cost about a tenth of a no-op task's JS time.
 *
 * Each method is still a function bound to its attempt, so a handler may
 * take it off the context (`const { reportProgress } = this`) and call it
 * alone, as before.
 *
 * @module
 */
import { serializeOrThrow, type Serializer } from "../core/serializer.ts";
import type { ParentResult, TaskContext } from "../core/task.ts";
import type { TaskId } from "../core/types.ts";
import type { ParentRow } from "../storage/backend.ts";
import type { Attempt } from "./executor.ts";
import { type ParentAccess, parentAccess } from "./parent_results.ts";

/** What every context of one executor shares. */
export interface ContextShared {
  /** The worker's id: the context's `workerId` and the progress token's. */
  readonly workerId: string;
  /** Writes progress values. */
  readonly serializer: Serializer;
  /** Stores a progress value while `token` holds. */
  saveProgress(
    token: { id: number; workerId: string; attempt: number },
    progress: string,
  ): Promise<boolean>;
  /** Reads a task's parents. */
  readParents(id: number): Promise<ParentRow[]>;
}

/**
 * A running attempt's context; see the module doc.
 *
 * @example
 * ```ts ignore
 * const context = new AttemptContext(attempt, shared);
 * await handler.apply(context, args);
 * ```
 */
export class AttemptContext implements TaskContext {
  /** The task's id. */
  readonly id: TaskId;
  /** The task's name. */
  readonly name: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** Total attempts allowed. */
  readonly maxAttempts: number;
  /** The worker running it. */
  readonly workerId: string;
  readonly #run: Attempt;
  readonly #shared: ContextShared;
  #report: ((progress: unknown) => Promise<void>) | undefined;
  #parents: ParentAccess | undefined;

  /**
   * @param run The attempt this context belongs to.
   * @param shared What the executor's contexts share.
   */
  constructor(run: Attempt, shared: ContextShared) {
    const { claimed } = run;
    this.id = claimed.id as TaskId;
    this.name = claimed.name;
    this.attempt = claimed.attempt;
    this.maxAttempts = claimed.maxAttempts;
    this.workerId = shared.workerId;
    this.#run = run;
    this.#shared = shared;
  }

  /** Aborted on timeout, stop deadline, a lost lease or a cancel. */
  get signal(): AbortSignal {
    return this.#run.controller.signal;
  }

  /** Stores a progress value, while this attempt still owns its task. */
  get reportProgress(): (progress: unknown) => Promise<void> {
    return this.#report ??= async (progress: unknown) => {
      const run = this.#run;
      if (run.done) return;
      const { workerId, serializer, saveProgress } = this.#shared;
      const { id, attempt } = run.claimed;
      await saveProgress(
        { id, workerId, attempt },
        serializeOrThrow(serializer, progress, `the progress of task ${id}`),
      );
    };
  }

  /** This task's parents and their final results, in the order given. */
  get parents(): () => Promise<ParentResult[]> {
    return this.#parentAccess().parents;
  }

  /** The result of the one parent of a task. */
  get parentResult(): TaskContext["parentResult"] {
    return this.#parentAccess().parentResult;
  }

  /** The results of the completed parents of a task. */
  get parentResults(): TaskContext["parentResults"] {
    return this.#parentAccess().parentResults;
  }

  #parentAccess(): ParentAccess {
    const { readParents, serializer } = this.#shared;
    return this.#parents ??= parentAccess(this.id, readParents, serializer);
  }
}
