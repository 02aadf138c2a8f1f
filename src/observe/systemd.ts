import { dlopen, FFIType, read } from "bun:ffi";
import { constants } from "node:os";
import type { Logger } from "./log";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(struct sockaddr_un): a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;
const PATH_OFFSET = 2;

const LIBC_NAMES = ["libc.so.6", "libc.so", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`];

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

function loadLibc() {
  for (const name of LIBC_NAMES) {
    try {
      return dlopen(name, SYMBOLS).symbols;
    } catch {
      // Not this C library's name on this system; try the next.
    }
  }
  throw new Error(`no C library found (tried ${LIBC_NAMES.join(", ")})`);
}

let libc: ReturnType<typeof loadLibc> | undefined;

/** The name of the C library's last error on this thread (ENOENT, ECONNREFUSED…), read right after the failed call. */
function lastError(c: NonNullable<typeof libc>): string {
  const where = c.__errno_location();
  const code = where ? read.i32(where) : 0;
  return Object.entries(constants.errno).find(([, value]) => value === code)?.[0] ?? `errno ${code}`;
}

/** The address systemd gave, as a struct sockaddr_un: a file's path, or an abstract name written `@name`. */
function socketAddress(socket: string): { address: Uint8Array; length: number } {
  const abstract = socket.startsWith("@");
  const name = Buffer.from(abstract ? socket.slice(1) : socket);
  // An abstract name starts with a NUL and is counted exactly; a path ends with a NUL.
  const start = PATH_OFFSET + (abstract ? 1 : 0);
  const length = start + name.length + (abstract ? 0 : 1);
  if (length > SOCKADDR_UN_SIZE) throw new Error("it is longer than a unix socket address may be");
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  // sa_family is in the host's byte order.
  new Uint16Array(address.buffer, 0, 1)[0] = AF_UNIX;
  address.set(name, start);
  return { address, length };
}

function send(state: string, socket: string): void {
  if (process.platform !== "linux") throw new Error("readiness messages are only sent on Linux");
  libc ??= loadLibc();
  const { address, length } = socketAddress(socket);
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: ${lastError(libc)}`);
  const message = Buffer.from(state);
  const sent = Number(libc.sendto(fd, message, message.length, MSG_NOSIGNAL, address, length));
  const error = sent === message.length ? undefined : `sendto: ${lastError(libc)}`;
  libc.close(fd);
  if (error) throw new Error(error);
}

/**
 * Tells the service manager how the service is doing (sd_notify(3)): `READY=1`
 * once it answers, `STOPPING=1` when it begins to stop. With Type=notify,
 * systemd passes a unix datagram socket in NOTIFY_SOCKET and credits each
 * message to the process that sent it, so this process sends it itself (a
 * `systemd-notify` child may be gone before systemd looks at its sender).
 * Without NOTIFY_SOCKET (not under systemd) it does nothing. A failure is a
 * warning: the service answers all the same, and systemd's start timeout says
 * the rest.
 */
export function notifySystemd(state: string, log: Logger, socket = process.env.NOTIFY_SOCKET): void {
  if (!socket) return;
  try {
    send(state, socket);
  } catch (error) {
    log.warn(`cannot tell systemd ${state.split("\n")[0]} through NOTIFY_SOCKET ${socket}: ${(error as Error).message}`);
  }
}
