// Progress of the slow steps a first run takes (installing dependencies, building), on standard
// error so that a command's own output on standard output stays clean: a line when a step starts,
// a line every 10 s while it lasts, and one with its time when it ends.
// Only Node built-ins here: this runs before node_modules exists.

const TICK_MS = 10_000;

export function say(line) {
  process.stderr.write(`callqos: ${line}\n`);
}

export function seconds(ms) {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Runs `work` (async) as a named step, saying when it starts, that it still runs, and how long it took. */
export async function step(label, work) {
  const started = Date.now();
  say(`${label}…`);
  const ticker = setInterval(() => say(`${label}: still working (${seconds(Date.now() - started)})`), TICK_MS);
  try {
    const result = await work();
    say(`${label}: done in ${seconds(Date.now() - started)}`);
    return result;
  } finally {
    clearInterval(ticker);
  }
}
