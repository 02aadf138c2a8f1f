import type { Subprocess } from "bun";
import { waitFor } from "./wait";

/** Binds a unix datagram socket and prints each message with its sender's pid (SO_PASSCRED), one JSON line each. */
const LISTENER = `
import json, socket, struct, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\\0" + name[1:] if name.startswith("@") else name)
print(json.dumps({"bound": name}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:12])[0]
    print(json.dumps({"pid": pid, "message": data.decode()}), flush=True)
`;

export interface Notification {
  /** The sending process as the kernel saw it (in the listener's pid namespace). */
  pid: number | null;
  message: string;
}

export interface NotifyListener {
  /** Every message so far, in the order they arrived. */
  received: Notification[];
  /** The first message that has `line` as one of its lines (READY=1, STOPPING=1), once it arrives. */
  next(line: string): Promise<Notification>;
  close(): void;
}

/**
 * A stand-in for systemd's notification socket: a real unix datagram socket,
 * bound by a small Python listener, at a path or at an abstract name `@name`.
 */
export async function listenForNotifications(socket: string): Promise<NotifyListener> {
  const proc: Subprocess<"ignore", "pipe", "inherit"> = Bun.spawn(["python3", "-c", LISTENER, socket], { stdout: "pipe", stderr: "inherit" });
  const received: Notification[] = [];
  let bound = false;
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = pending.indexOf("\n")) >= 0) {
        const line = JSON.parse(pending.slice(0, end));
        pending = pending.slice(end + 1);
        if ("bound" in line) bound = true;
        else received.push(line);
      }
    }
  })();
  await waitFor(`a listener bound to ${socket}`, () => bound || proc.exitCode !== null);
  if (!bound) throw new Error(`the notification listener exited (${proc.exitCode}) before binding ${socket}`);
  return {
    received,
    next: (line) => waitFor(line, () => received.find((n) => n.message.split("\n").includes(line))),
    close: () => proc.kill("SIGKILL"),
  };
}
