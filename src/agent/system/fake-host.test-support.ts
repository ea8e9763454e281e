/**
 * A Host for unit tests of the ubus bindings: virtual time, and children whose output and exit
 * the test scripts. Runs no process and needs no Node module.
 */
import type { ChildProcess, ExitStatus, Host, SignalName, SpawnOptions, TimerHandle } from '../../core/host/index.ts';

export interface FakeChild extends ChildProcess {
  readonly argv: readonly string[];
  readonly killedWith: SignalName[];
  readonly done: boolean;
  out(...lines: string[]): void;
  err(...lines: string[]): void;
  exit(code: number | null, signal?: ExitStatus['signal']): void;
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class FakeHost {
  now = 0;
  readonly children: FakeChild[] = [];
  /** Called for every spawn, to script the child (answer and exit, or leave it running). */
  onSpawn: (child: FakeChild) => void = () => {};
  private timers: Timer[] = [];
  private nextId = 1;

  readonly host: Host = {
    runtime: 'node',
    processes: { spawn: (argv, options) => this.spawn(argv, options) },
    files: undefined as never,
    timers: {
      setTimeout: (callback, delayMs) => {
        const timer = { id: this.nextId++, at: this.now + Math.max(0, delayMs), callback };
        this.timers.push(timer);
        return timer.id as unknown as TimerHandle;
      },
      clearTimeout: (handle) => {
        this.timers = this.timers.filter((t) => t.id !== (handle as unknown as number));
      },
    },
    clock: { monotonicMs: () => this.now, wallMs: () => 1_700_000_000_000 + this.now },
    onSignal: () => {},
    writeErrLine: () => {},
    writeOut: () => {},
    args: [],
    getEnv: () => undefined,
    readStdin: () => '',
    exit: () => {
      throw new Error('exit');
    },
  };

  /** Lets pending promise callbacks run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  /** Moves virtual time forward, firing due timers in order and settling promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await this.settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.callback();
      await this.settle();
    }
    this.now = end;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  private spawn(argv: readonly string[], options: SpawnOptions = {}): FakeChild {
    let resolveExit: (status: ExitStatus) => void = () => {};
    const exited = new Promise<ExitStatus>((resolve) => (resolveExit = resolve));
    const killedWith: SignalName[] = [];
    let done = false;
    const child: FakeChild = {
      pid: 1000 + this.children.length,
      argv: [...argv],
      killedWith,
      get done() {
        return done;
      },
      write: () => !done,
      closeStdin: () => {},
      kill: (signal = 'SIGTERM') => {
        if (done) return false;
        killedWith.push(signal);
        return true;
      },
      exited,
      out: (...lines) => lines.forEach((line) => options.onStdoutLine?.(line)),
      err: (...lines) => lines.forEach((line) => options.onStderrLine?.(line)),
      exit: (code, signal = null) => {
        if (done) return;
        done = true;
        resolveExit({ code: signal === null ? code : null, signal });
      },
    };
    this.children.push(child);
    this.onSpawn(child);
    return child;
  }
}
