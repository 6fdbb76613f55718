// A stand-in for the tally service behind the proxy: records what reaches it
// (headers and body) and answers with a small JSON body. `useUpstream()`
// starts one for a test file and clears what it saw before each test.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Upstream {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** What reached it since the test began. */
  readonly seen: Seen[];
}

export function useUpstream(answer = '{"ok":true,"stored":1}'): Upstream {
  let server: Server;
  const state = { url: "", seen: [] as Seen[] };
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        state.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader("content-type", "application/json");
        res.end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    state.seen.length = 0;
  });
  return {
    get url() {
      return state.url;
    },
    get seen() {
      return state.seen;
    },
  };
}
