/**
 * A system call's failure in the words `mkdir`, `cat` and Go's net package print (`no such file or directory`,
 * `address already in use`): libuv's text for the error number, else its code, else the error's message.
 */
import { getSystemErrorMap } from 'node:util';

export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.errno === 'number') {
    const known = getSystemErrorMap().get(e.errno)?.[1];
    if (known !== undefined) return known;
  }
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}

/** Whether `err` is a system call's failure (it carries an error number), not a fault of ours. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return typeof (err as NodeJS.ErrnoException | undefined)?.errno === 'number';
}
