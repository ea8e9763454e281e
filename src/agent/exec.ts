/** Runs a short command through the host and collects its output, with a time limit. */
import type { ExitStatus, Host } from '../core/host/index.ts';

export interface Completed {
  readonly status: ExitStatus;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly timedOut: boolean;
}

export function execute(host: Host, argv: readonly string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<Completed> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let timedOut = false;
  const child = host.processes.spawn(argv, { onStdoutLine: (l) => stdout.push(l), onStderrLine: (l) => stderr.push(l) });
  if (options.stdin !== undefined) child.write(options.stdin);
  child.closeStdin();
  const timer = host.timers.setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 10_000);
  return child.exited.then((status) => {
    host.timers.clearTimeout(timer);
    return { status, stdout, stderr, timedOut };
  });
}

/** One line saying how a command failed, for logs and error values. */
export function describeFailure(argv: readonly string[], done: Completed): string {
  const how = done.timedOut ? 'timed out' : done.status.signal ? `killed by ${done.status.signal}` : `exit ${done.status.code}`;
  const detail = done.stderr.find((line) => line.trim() !== '') ?? '';
  return `${argv[0]} ${how}${detail ? `: ${detail.trim()}` : ''}`;
}
