import { readdirSync, readFileSync } from "node:fs";
import type { Sample } from "./metrics";

/** When the process started, in Unix seconds: fixed for its life, so read once. */
const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/**
 * The standard `process_*` metrics, under the names Prometheus' client
 * libraries give them (so without our prefix). CPU, memory and start time come from the
 * runtime; descriptors and virtual memory from /proc, so where there is no
 * /proc (not Linux) those are left out rather than made up.
 */
export function processSamples(): Sample[] {
  const cpu = process.cpuUsage();
  const samples: Sample[] = [
    { name: "process_cpu_user_seconds_total", help: "User CPU time spent, in seconds.", type: "counter", value: cpu.user / 1e6 },
    { name: "process_cpu_system_seconds_total", help: "System CPU time spent, in seconds.", type: "counter", value: cpu.system / 1e6 },
    { name: "process_cpu_seconds_total", help: "User and system CPU time spent, in seconds.", type: "counter", value: (cpu.user + cpu.system) / 1e6 },
    { name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.", type: "gauge", value: START_TIME_SECONDS },
    { name: "process_resident_memory_bytes", help: "Resident memory size, in bytes.", type: "gauge", value: process.memoryUsage.rss() },
  ];
  const virtual = virtualMemoryBytes();
  if (virtual !== undefined) samples.push({ name: "process_virtual_memory_bytes", help: "Virtual memory size, in bytes.", type: "gauge", value: virtual });
  const open = openFds();
  if (open !== undefined) samples.push({ name: "process_open_fds", help: "Open file descriptors.", type: "gauge", value: open });
  const max = maxFds();
  if (max !== undefined) samples.push({ name: "process_max_fds", help: "Most file descriptors the process may open (the soft limit).", type: "gauge", value: max });
  return samples;
}

function openFds(): number | undefined {
  try {
    // The listing's own descriptor is among them, as in Prometheus' own clients.
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

function maxFds(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    return line === undefined ? undefined : line === "unlimited" ? Infinity : Number(line);
  } catch {
    return undefined;
  }
}

function virtualMemoryBytes(): number | undefined {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces; vsize is the 23rd field.
    const stat = readFileSync("/proc/self/stat", "utf8");
    const value = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[20]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
