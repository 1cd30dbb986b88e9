// What the benchmarks read from /proc (Linux): CPU seconds and resident memory of processes, and
// how busy the whole machine has been.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** `pid` and its descendants, as they are now. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const children = spawnSync('pgrep', ['-P', String(out[i])], { encoding: 'utf8' }).stdout ?? '';
    out.push(...children.split('\n').filter(Boolean).map(Number));
  }
  return out;
}

/**
 * User plus system CPU seconds of `pids` so far; with `reaped`, also what their exited and waited-for
 * children spent (sshd's per-session processes). A process that has exited counts nothing.
 */
export function cpuSecs(pids: number[], reaped = false): number {
  const { user, sys } = cpuSplit(pids, reaped);
  return user + sys;
}

/**
 * cpuSecs() in its two halves: user time (the process's own code) and system time (the kernel's
 * work for it: file system, network), which differs between two homes on one busy disk.
 */
export function cpuSplit(pids: number[], reaped = false): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      user += (Number(f[11]) + (reaped ? Number(f[13]) : 0)) / 100;
      sys += (Number(f[12]) + (reaped ? Number(f[14]) : 0)) / 100;
    } catch {
      // exited
    }
  }
  return { user, sys };
}

/** Resident memory of `pids` now, in MiB. */
export function rssMiB(pids: number[]): number {
  let total = 0;
  for (const p of pids) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      // exited
    }
  }
  return total;
}

/** CPU seconds the whole machine has been busy so far (all cores; idle and iowait excluded). */
export function machineBusySecs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
}

/** User plus system CPU seconds of one process itself (children excluded); undefined once gone. */
function ownCpuSecs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Parent of every process now running, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * CPU seconds spent by `pid` and every descendant from now until the returned function is called,
 * sampled every `everyMs`: for servers that fork a process per session (vsftpd) whose children may
 * never be reaped by an ancestor, so `cpuSecs(..., true)` would miss them. A process that exits
 * between samples loses at most its last interval.
 */
export function watchTreeCpu(pid: number, everyMs = 50): () => number {
  /** What the processes running at the start had spent by then (later ones start from zero). */
  const base = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = (): void => {
    const ppid = parents();
    for (const p of ppid.keys()) {
      let x: number | undefined = p;
      for (let depth = 0; x !== undefined && x !== pid && depth < 32; depth++) x = ppid.get(x);
      if (x !== pid) continue;
      const c = ownCpuSecs(p);
      if (c !== undefined) last.set(p, c);
    }
  };
  sample();
  for (const [p, c] of last) base.set(p, c);
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    let total = 0;
    for (const [p, c] of last) total += c - (base.get(p) ?? 0);
    return total;
  };
}
