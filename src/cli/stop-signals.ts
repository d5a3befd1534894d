// How `floe run` stops on SIGINT and SIGTERM: the first cancels the job cleanly, a second exits at once.
import { constants } from 'node:os';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a process ended by `signal`, as shells report it: 130 for SIGINT, 143 for SIGTERM. */
export const signalExitCode = (signal: StopSignal) => 128 + constants.signals[signal];

export interface StopSignals {
  /** what asked the job to stop, if anything did */
  readonly received: StopSignal | undefined;
  /** a stop asked for by other means (npm passed a kill to floe's shell): cancel as `signal` would, unless already stopping */
  request(signal: StopSignal, why: string): void;
  dispose(): void;
}

/**
 * Until dispose(), SIGINT and SIGTERM call `stop` once (cancel: sinks abort what is not committed,
 * the REST port closes, the run returns its code). A second signal means the clean stop is not
 * wanted or hangs: exit at once, as the signal's default would have, leaving what a kill leaves.
 * Only signals floe itself received count towards that: on Ctrl-C under npx the shell npm runs floe
 * in may die first, and a request() from that must not turn the one Ctrl-C into a second.
 */
export function onStopSignals(stop: (signal: StopSignal) => void, out: (line: string) => void): StopSignals {
  let received: StopSignal | undefined;
  let signaled = false;
  const again = (signal: StopSignal) => `${signal === 'SIGINT' ? 'Ctrl-C' : `kill ${process.pid}`} again exits at once`;
  const request = (signal: StopSignal, why: string) => {
    if (received !== undefined) return;
    received = signal;
    out(`${why}: canceling the job (${again(signal)})`);
    stop(signal);
  };
  const onSignal = (signal: StopSignal) => {
    if (signaled) {
      out(`${signal} again: exiting now, without waiting for the job to cancel`);
      process.exit(signalExitCode(signal));
    }
    signaled = true;
    if (received === undefined) request(signal, signal);
    else out(`${signal}: the job is canceling already (${again(signal)})`);
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  return {
    get received() {
      return received;
    },
    request,
    dispose() {
      process.off('SIGINT', handlers.SIGINT);
      process.off('SIGTERM', handlers.SIGTERM);
    },
  };
}
