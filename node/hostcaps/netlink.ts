/**
 * rtnetlink (`NETLINK_ROUTE`) from the node agent, through `Deno.dlopen` of glibc: the requests
 * `ip link`, `ip addr` and `ip route` send, without starting a process for each (an `ip` process
 * costs ~2.5 ms to start here; the kernel answers a request in µs, a veth pair in ~1 ms).
 *
 * A socket belongs to the network namespace it was made in: {@linkcode RtSocket.open} makes one
 * in the agent's own netns or, given a netns file, in that one: the calling thread enters the
 * netns (`setns`), makes the socket and goes back, all in one synchronous stretch of the JS
 * thread, so nothing else runs in between. The kernel does a request's work inside `send`: quick
 * requests (reading a link, addresses, routes: µs) are sent from the JS thread, slow ones (making
 * or deleting a veth pair: ~1 ms, more under load) on Deno's blocking pool (`{ slow: true }`,
 * ~0.1–0.3 ms of thread hand-over). Answers are read without blocking (they are queued by then),
 * so a request can neither block the event loop for long nor hang it.
 * @module
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  sendOnPool: {
    name: "send",
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "isize",
    nonblocking: true,
  },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
function libc(): NonNullable<typeof lib> {
  if (lib) return lib;
  try {
    return lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    throw new NetlinkError(
      `rtnetlink needs glibc through FFI (run the node agent with --allow-ffi): ${(e as Error).message}`,
      0,
    );
  }
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_ROUTE = 0;
const O_RDONLY = 0, O_CLOEXEC = 0o2000000, CLONE_NEWNET = 0x40000000, MSG_DONTWAIT = 0x40;
const NLMSG_ERROR = 2, NLMSG_DONE = 3;
export const NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
export const RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19;
export const RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22, RTM_NEWROUTE = 24;

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  95: "EOPNOTSUPP",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  105: "ENOBUFS",
};

/** A failed call or request, with its errno. */
export class NetlinkError extends Error {
  override name = "NetlinkError";
  constructor(readonly what: string, readonly errno: number) {
    super(errno ? `${what}: ${ERRNO[errno] ?? `errno ${errno}`}` : what);
  }
}

function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

/** A netlink attribute: its type and payload (bytes, or nested attributes). */
export interface Attr {
  type: number;
  value: Uint8Array | Attr[];
}

const align = (n: number) => (n + 3) & ~3;

/** Encodes attributes (`struct rtattr`, 4-byte aligned). Pure. */
export function encodeAttrs(attrs: readonly Attr[]): Uint8Array {
  const parts = attrs.map((a) => {
    const body = a.value instanceof Uint8Array ? a.value : encodeAttrs(a.value);
    const out = new Uint8Array(align(4 + body.length));
    new DataView(out.buffer).setUint16(0, 4 + body.length, true);
    new DataView(out.buffer).setUint16(2, a.type, true);
    out.set(body, 4);
    return out;
  });
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** Attribute payloads. Pure. */
export const attr = {
  u32(type: number, v: number): Attr {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return { type, value: b };
  },
  str(type: number, s: string): Attr {
    return { type, value: cstr(s) };
  },
  /** An IPv4 address (`a.b.c.d`), in network order. */
  ipv4(type: number, s: string): Attr {
    return { type, value: Uint8Array.from(s.split(".").map(Number)) };
  },
  /** A MAC address (`aa:bb:...`). */
  mac(type: number, s: string): Attr {
    return { type, value: Uint8Array.from(s.split(":").map((x) => parseInt(x, 16))) };
  },
};

/** One request: type, flags, the fixed header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`) and attributes. */
export interface Request {
  type: number;
  flags: number;
  header: Uint8Array;
  attrs?: readonly Attr[];
}

/** `struct ifinfomsg`: family, device type, index, flags and the flags' change mask. Pure. */
export function ifinfomsg(index = 0, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setInt32(4, index, true);
  v.setUint32(8, flags >>> 0, true);
  v.setUint32(12, change >>> 0, true);
  return b;
}

/** Encodes one message (`struct nlmsghdr` + header + attributes). Pure. */
export function encodeMessage(r: Request, seq: number): Uint8Array {
  const body = concat([
    r.header,
    new Uint8Array(align(r.header.length) - r.header.length),
    encodeAttrs(r.attrs ?? []),
  ]);
  const out = new Uint8Array(16 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, r.type, true);
  v.setUint16(6, r.flags | NLM_F_REQUEST, true);
  v.setUint32(8, seq >>> 0, true);
  out.set(body, 16);
  return out;
}

/** An answer message: its type and body (header and attributes), as the kernel sent them. */
export interface Message {
  type: number;
  seq: number;
  body: Uint8Array;
}

/** Splits a datagram into messages. Pure. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Message[] = [];
  for (let at = 0; at + 16 <= buf.length;) {
    const len = v.getUint32(at, true);
    if (len < 16 || at + len > buf.length) break;
    out.push({
      type: v.getUint16(at + 4, true),
      seq: v.getUint32(at + 8, true),
      body: buf.subarray(at + 16, at + len),
    });
    at += align(len);
  }
  return out;
}

/** The attributes after a fixed header of `skip` bytes, by type (the last of a type wins). Pure. */
export function decodeAttrs(body: Uint8Array, skip: number): Map<number, Uint8Array> {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out = new Map<number, Uint8Array>();
  for (let at = align(skip); at + 4 <= body.length;) {
    const len = v.getUint16(at, true);
    if (len < 4 || at + len > body.length) break;
    out.set(v.getUint16(at + 2, true) & 0x3fff, body.subarray(at + 4, at + len));
    at += align(len);
  }
  return out;
}

/** Opens a netns file (for `IFLA_NET_NS_FD`); close it with {@linkcode closeFd}. */
export function openNetnsFd(path: string): number {
  const fd = libc().open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new NetlinkError(`open ${path}`, errno());
  return fd;
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

let nextSeq = 1;

/** A `NETLINK_ROUTE` socket in one network namespace. */
export class RtSocket {
  readonly #fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * A socket in the netns of the file `netns` (`/run/netns/<name>`), or in the agent's own.
   * Throws {@linkcode NetlinkError} (`ENOENT`: no such netns).
   */
  static open(netns?: string): RtSocket {
    const l = libc();
    const make = () => {
      const fd = l.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) throw new NetlinkError("socket(AF_NETLINK)", errno());
      return fd;
    };
    if (!netns) return new RtSocket(make());
    const target = l.open(cstr(netns), O_RDONLY | O_CLOEXEC, 0);
    if (target < 0) throw new NetlinkError(`open ${netns}`, errno());
    const self = l.open(cstr("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
    if (self < 0) {
      const e = errno();
      l.close(target);
      throw new NetlinkError("open /proc/thread-self/ns/net", e);
    }
    let fd = -1, failure: unknown;
    try {
      if (l.setns(target, CLONE_NEWNET) < 0) throw new NetlinkError(`setns ${netns}`, errno());
      try {
        fd = make();
      } catch (e) {
        failure = e;
      }
      // Back to the agent's netns: staying elsewhere would move every later socket of this thread.
      if (l.setns(self, CLONE_NEWNET) < 0) {
        if (fd >= 0) l.close(fd);
        throw new Error(`setns back to the agent's netns failed (errno ${errno()}): cannot continue`);
      }
    } finally {
      l.close(self);
      l.close(target);
    }
    if (failure) throw failure;
    return new RtSocket(fd);
  }

  /**
   * Sends requests (in one datagram, handled by the kernel in order) and collects their
   * answers: for each request, its error (0: done) and the messages it answered with. `slow`:
   * send from Deno's blocking pool (requests that make or delete links).
   */
  async transact(
    reqs: readonly Request[],
    opts: { slow?: boolean } = {},
  ): Promise<{ errno: number; messages: Message[] }[]> {
    if (this.#closed) throw new Error("the netlink socket is closed");
    const seqs = reqs.map(() => nextSeq++);
    const out = concat(reqs.map((r, i) => encodeMessage({ ...r, flags: r.flags | NLM_F_ACK }, seqs[i])));
    const len = BigInt(out.length);
    const sent = Number(
      opts.slow ? await libc().sendOnPool(this.#fd, out, len, 0) : libc().send(this.#fd, out, len, 0),
    );
    if (sent < 0) throw new NetlinkError("send", errno());
    const answers = seqs.map(() => ({ errno: -1, messages: [] as Message[] }));
    const buf = new Uint8Array(64 * 1024);
    let open = reqs.length;
    while (open > 0) {
      const n = Number(libc().recv(this.#fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n < 0) throw new NetlinkError("recv (the kernel left requests unanswered)", errno());
      for (const m of decodeMessages(buf.subarray(0, n))) {
        const i = seqs.indexOf(m.seq);
        if (i < 0 || answers[i].errno >= 0) continue;
        if (m.type === NLMSG_ERROR) {
          answers[i].errno = -new DataView(m.body.buffer, m.body.byteOffset).getInt32(0, true);
          open--;
        } else if (m.type === NLMSG_DONE) {
          // The end of a dump; its body may hold the dump's error.
          answers[i].errno = m.body.length >= 4
            ? -new DataView(m.body.buffer, m.body.byteOffset).getInt32(0, true)
            : 0;
          open--;
        } else answers[i].messages.push({ ...m, body: m.body.slice() });
      }
    }
    return answers;
  }

  /** Sends one request; throws its error (`what` names it), resolves to its answer messages. */
  async request(what: string, req: Request, opts: { slow?: boolean } = {}): Promise<Message[]> {
    const [a] = await this.transact([req], opts);
    if (a.errno) throw new NetlinkError(what, a.errno);
    return a.messages;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
