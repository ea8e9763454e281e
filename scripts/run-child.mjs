// Runs a child process to its end with its output on this process's standard error, passing on
// SIGINT and SIGTERM: a service manager that stops `npm start` by its pid must not leave an
// `npm ci` or a build running behind it. Only Node built-ins here: this runs before node_modules exists.
import { spawn } from 'node:child_process';

const FORWARDED = ['SIGINT', 'SIGTERM'];

/** Resolves with the exit status (128 + n for a signal), rejects when the program cannot start. */
export function runChild(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    // Standard output goes to standard error too: `npm run -s render | nft -f -` reads only the batch.
    const child = spawn(command, args, { ...options, stdio: ['ignore', 2, 2] });
    const forward = (signal) => child.kill(signal);
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = () => {
      for (const signal of FORWARDED) process.off(signal, forward);
    };
    child.once('error', (error) => {
      done();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9));
    });
  });
}
