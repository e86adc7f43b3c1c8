/**
 * A system call's failure in the words Go's syscall package (and so CoreDNS) and coreutils print: glibc's strerror
 * text, lower-cased as Go writes it (`address already in use`, `cannot assign requested address`, `file exists`).
 * libuv's own texts differ for some (`address not available`, `illegal operation on a directory`), so the common
 * ones are listed; any other falls back to libuv's text, then the code, then the message.
 */
import { getSystemErrorMap } from 'node:util';

const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
};

export function systemReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const known = e?.code !== undefined ? STRERROR[e.code] : undefined;
  if (known !== undefined) return known;
  if (typeof e?.errno === 'number') {
    const libuv = getSystemErrorMap().get(e.errno)?.[1];
    if (libuv !== undefined) return libuv;
  }
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}

/** Whether `err` is a system call's failure (it carries an error number), not a fault of ours. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return typeof (err as NodeJS.ErrnoException | undefined)?.errno === 'number';
}
