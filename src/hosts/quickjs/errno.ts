import * as std from 'std';

// errno values 1-34 are the same on every Linux architecture; std.Error adds QuickJS's own list.
const lowErrnoNames = [
  '', 'EPERM', 'ENOENT', 'ESRCH', 'EINTR', 'EIO', 'ENXIO', 'E2BIG', 'ENOEXEC', 'EBADF', 'ECHILD',
  'EAGAIN', 'ENOMEM', 'EACCES', 'EFAULT', 'ENOTBLK', 'EBUSY', 'EEXIST', 'EXDEV', 'ENODEV', 'ENOTDIR',
  'EISDIR', 'EINVAL', 'ENFILE', 'EMFILE', 'ENOTTY', 'ETXTBSY', 'EFBIG', 'ENOSPC', 'ESPIPE', 'EROFS',
  'EMLINK', 'EPIPE', 'EDOM', 'ERANGE',
];

export const EINTR = 4;
export const EAGAIN = 11;

export function errnoName(errno: number): string {
  const value = Math.abs(errno);
  const low = lowErrnoNames[value];
  if (low) return low;
  for (const name of Object.keys(std.Error)) if (std.Error[name] === value) return name;
  return 'EIO';
}

export function errnoMessage(errno: number): string {
  return std.strerror(Math.abs(errno));
}
