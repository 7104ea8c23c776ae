/**
 * Hook registries: an ordered Map from id to hook, and the handle that removes one entry
 * (PyTorch's torch.utils.hooks.RemovableHandle).
 */

let nextHookId = 0;

/**
 * Returned by every `register…Hook` call; `remove()` unregisters the hook (calling it again
 * does nothing).
 *
 * Example:
 * ```ts
 * const handle = x.registerHook((g) => g.mul(2));
 * handle.remove();
 * ```
 */
export class RemovableHandle {
  /** Unique over the process, also the hook's key in its registry. */
  readonly id: number;

  /**
   * kiln-internal: registers `hook` in `hooks` (after those already there).
   * Args: onRemove runs after the hook is removed (the Module uses it to drop its hook dispatch).
   */
  constructor(
    private readonly hooks: Map<number, unknown>,
    hook: unknown,
    private readonly onRemove: (() => void) | null = null,
  ) {
    this.id = nextHookId++;
    hooks.set(this.id, hook);
  }

  /** Unregisters the hook. */
  remove(): void {
    if (this.hooks.delete(this.id)) this.onRemove?.();
  }
}

/** The name a hook is shown by in error messages: `hook 'scale'`, or `hook #2` for an anonymous one. */
export function describeHook(hook: { name: string }, position: number): string {
  return hook.name === '' ? `hook #${position}` : `hook '${hook.name}'`;
}
