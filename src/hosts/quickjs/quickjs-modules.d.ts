// Declarations for the parts of QuickJS's built-in `std` and `os` modules that callqos uses,
// as they exist in QuickJS 2021-03-27 (the oldest release OpenWrt ships). Functions that newer
// releases added are optional here and feature-tested before use.

declare module 'std' {
  export interface FILE {
    puts(text: string): void;
    read(buffer: ArrayBuffer, position: number, length: number): number;
    write(buffer: ArrayBuffer, position: number, length: number): number;
    flush(): void;
    close(): number;
    error(): boolean;
    readAsString(maxSize?: number): string;
    getline(): string | null;
    fileno(): number;
  }
  export interface ErrorHolder {
    errno?: number;
  }
  export function open(filename: string, flags: string, errorObj?: ErrorHolder): FILE | null;
  export function loadFile(filename: string): string | null;
  export function getenv(name: string): string | undefined;
  export function getenviron(): Record<string, string>;
  export function exit(code: number): never;
  export function strerror(errno: number): string;
  // `in` is a reserved word, so it is declared under another name and exported as `in`.
  const stdin: FILE;
  export { stdin as in };
  export const out: FILE;
  export const err: FILE;
  export const Error: Readonly<Record<string, number>>;
}

declare module 'os' {
  export interface ExecOptions {
    block?: boolean;
    usePath?: boolean;
    cwd?: string;
    stdin?: number;
    stdout?: number;
    stderr?: number;
    env?: Record<string, string>;
  }
  /** With block: false, returns the child's pid. */
  export function exec(args: readonly string[], options?: ExecOptions): number;
  /** Returns [pid or 0 or -errno, raw wait status]. */
  export function waitpid(pid: number, options: number): [number, number];
  export function pipe(): [number, number] | null;
  /** Returns the descriptor, or -errno. */
  export function open(path: string, flags: number, mode?: number): number;
  export function mkdir(path: string, mode?: number): number;
  export const O_RDWR: number;
  export function close(fd: number): number;
  /** Returns the byte count, or -errno. */
  export function read(fd: number, buffer: ArrayBuffer, offset: number, length: number): number;
  export function write(fd: number, buffer: ArrayBuffer, offset: number, length: number): number;
  export function setReadHandler(fd: number, handler: (() => void) | null): void;
  export function setWriteHandler(fd: number, handler: (() => void) | null): void;
  /** handler null restores the default action, undefined ignores the signal. */
  export function signal(signal: number, handler: (() => void) | null | undefined): void;
  export function kill(pid: number, signal: number): number;
  export function setTimeout(callback: () => void, delay: number): unknown;
  export function clearTimeout(handle: unknown): void;
  /** Returns 0 or -errno. */
  export function rename(oldPath: string, newPath: string): number;
  export function remove(path: string): number;
  /** Returns [names, errno]. */
  export function readdir(path: string): [string[], number];
  export function stat(path: string): [{ mode: number; size: number }, number];
  /** Newer QuickJS only: monotonic milliseconds. */
  export const now: (() => number) | undefined;
  export const WNOHANG: number;
  export const SIGINT: number;
  export const SIGQUIT: number;
  export const SIGTERM: number;
  export const SIGPIPE: number;
  export const SIGCHLD: number;
  export const SIGUSR1: number;
  export const SIGUSR2: number;
  export const SIGABRT: number;
  export const SIGALRM: number;
  export const SIGSEGV: number;
}

/** Arguments after `qjs`'s own options; scriptArgs[0] is the script. */
declare var scriptArgs: string[] | undefined;
