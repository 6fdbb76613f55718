// src/contract/index.ts isCrossSiteWrite: the one rule the service and the proxy
// apply to writes from other sites.
import { isCrossSiteWrite, type WriteOrigin } from "../../../src/contract/index.js";

const write = (over: Partial<WriteOrigin>): WriteOrigin => ({ method: "POST", secFetchSite: undefined, origin: undefined, host: "app.example", ...over });

test.each<[string, Partial<WriteOrigin>, string[], boolean]>([
  ["a read is never cross-site", { method: "GET", secFetchSite: "cross-site", origin: "https://evil.example" }, [], false],
  ["no Origin (a server, curl, the proxy)", {}, [], false],
  ["same host", { origin: "https://app.example" }, [], false],
  ["Sec-Fetch-Site: cross-site", { secFetchSite: "cross-site" }, [], true],
  ["another host", { origin: "https://evil.example" }, [], true],
  ["another host, allowed by the operator", { origin: "https://admin.example" }, ["https://admin.example"], false],
  ["a proxy's X-Forwarded-Host (first of a list)", { origin: "https://app.example", host: "app.example, internal:3000" }, [], false],
  ["http: Origin on a request that came over https (a downgrade)", { origin: "http://app.example", scheme: "https" }, [], true],
  ["Origin: null (sandboxed frame, file:)", { origin: "null" }, [], true],
  ["a non-http scheme", { origin: "ftp://app.example" }, [], true],
  ["DELETE from another host", { method: "DELETE", origin: "https://evil.example" }, [], true],
  ["no host at all", { origin: "https://app.example", host: undefined }, [], true],
])("%s", (_name, over, allowed, crossSite) => {
  expect(isCrossSiteWrite(write(over), allowed)).toBe(crossSite);
});
