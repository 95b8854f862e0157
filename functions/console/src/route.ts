// The console's hash routes: #/, #/g/{group}, #/g/{group}/c/{channel}[/status|/harvest|/stats],
// #/g/{group}/c/{channel}/e/{endpoint|new}[/preview].

export interface Route {
  page: "groups" | "group" | "channel" | "endpoint" | "status" | "harvest" | "preview" | "stats";
  group?: string;
  channel?: string;
  /** `undefined` on the new-endpoint form. */
  endpoint?: string;
}

export function route(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "").map(decode);
  const [g0, group, c0, channel, e0, endpoint, tail] = parts;
  if (g0 !== "g" || group === undefined) return { page: "groups" };
  if (c0 !== "c" || channel === undefined) return { page: "group", group };
  if (e0 === undefined) return { page: "channel", group, channel };
  if (e0 === "status" || e0 === "harvest" || e0 === "stats") return { page: e0, group, channel };
  if (e0 === "e" && endpoint !== undefined) {
    if (endpoint === "new") return { page: "endpoint", group, channel };
    return { page: tail === "preview" ? "preview" : "endpoint", group, channel, endpoint };
  }
  return { page: "channel", group, channel };
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join("/")}`;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
