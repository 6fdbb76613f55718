// A loopback TCP proxy in front of PostgreSQL: stop() cuts every connection and
// refuses new ones (the database "goes away"), start() brings it back on the
// same port; stall() keeps connections open but silent (a hung database).
// Lets a test take the database away from one app without touching
// the server other test files share.
import { createServer, Socket, type Server } from "node:net";

export class TcpProxy {
  private server: Server | undefined;
  /** Every open socket, cut by stop(). */
  private sockets = new Set<Socket>();
  /** Piped client/upstream pairs, silenced by stall(). */
  private pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  private track(socket: Socket, onError: () => void): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", onError);
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.stalled) return this.track(client, () => client.destroy()); // accepted, never answered
      const upstream = new Socket();
      const cut = () => {
        client.destroy();
        upstream.destroy();
      };
      this.track(client, cut);
      this.track(upstream, cut);
      upstream.connect(this.target.port, this.target.host);
      client.pipe(upstream).pipe(client);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on("close", () => this.pairs.delete(pair));
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** The database hangs: bytes stop flowing both ways, new connections are never answered. */
  stall(): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  async stop(): Promise<void> {
    this.stalled = false;
    this.pairs.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.toString();
  }
}

export function proxyFor(url: string): TcpProxy {
  const u = new URL(url);
  return new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
}
