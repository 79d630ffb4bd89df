/**
 * `wasi:sockets`, denied: the interfaces exist so that components importing them instantiate,
 * but creating a socket or resolving a name fails with `access-denied`, so no socket resource
 * ever reaches a guest (their methods, present for completeness, deny too). Pods reach the
 * network only through `wasi:http` (see docs/isolation.md).
 * @module
 */

function denied(): never {
  throw "access-denied";
}

/** A resource class whose every method denies. */
function deniedResource(name: string, methods: readonly string[]): new () => object {
  const cls = { [name]: class {} }[name];
  for (const m of methods) Object.defineProperty(cls.prototype, m, { value: denied, writable: true });
  return cls;
}

const TCP_METHODS = [
  "startBind",
  "finishBind",
  "startConnect",
  "finishConnect",
  "startListen",
  "finishListen",
  "accept",
  "localAddress",
  "remoteAddress",
  "isListening",
  "addressFamily",
  "setListenBacklogSize",
  "keepAliveEnabled",
  "setKeepAliveEnabled",
  "keepAliveIdleTime",
  "setKeepAliveIdleTime",
  "keepAliveInterval",
  "setKeepAliveInterval",
  "keepAliveCount",
  "setKeepAliveCount",
  "hopLimit",
  "setHopLimit",
  "receiveBufferSize",
  "setReceiveBufferSize",
  "sendBufferSize",
  "setSendBufferSize",
  "subscribe",
  "shutdown",
];
const UDP_METHODS = [
  "startBind",
  "finishBind",
  "stream",
  "localAddress",
  "remoteAddress",
  "addressFamily",
  "unicastHopLimit",
  "setUnicastHopLimit",
  "receiveBufferSize",
  "setReceiveBufferSize",
  "sendBufferSize",
  "setSendBufferSize",
  "subscribe",
];

class Network {}
const TcpSocket = deniedResource("TcpSocket", TCP_METHODS);
const UdpSocket = deniedResource("UdpSocket", UDP_METHODS);
const IncomingDatagramStream = deniedResource("IncomingDatagramStream", ["receive", "subscribe"]);
const OutgoingDatagramStream = deniedResource("OutgoingDatagramStream", ["checkSend", "send", "subscribe"]);
const ResolveAddressStream = deniedResource("ResolveAddressStream", ["resolveNextAddress", "subscribe"]);

/** The `wasi:sockets/*` imports: present, and denying everything. */
export function socketImports() {
  return {
    "wasi:sockets/network": { Network },
    "wasi:sockets/instance-network": { instanceNetwork: () => new Network() },
    "wasi:sockets/tcp": { TcpSocket },
    "wasi:sockets/tcp-create-socket": { createTcpSocket: denied },
    "wasi:sockets/udp": { UdpSocket, IncomingDatagramStream, OutgoingDatagramStream },
    "wasi:sockets/udp-create-socket": { createUdpSocket: denied },
    "wasi:sockets/ip-name-lookup": { ResolveAddressStream, resolveAddresses: denied },
  };
}
