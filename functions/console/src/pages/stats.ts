// The place of the statistics charts (issue 16, statistics): they read the
// `/api/v1/.../stats` routes once those exist.

import { h, link, show } from "../dom";
import { href } from "../route";

export function statsPage(g: string, c: string): Promise<void> {
  show(`Statistics ${g}/${c}`,
    h("nav", { class: "sub", "aria-label": "channel" }, link(href("g", g, "c", c), `← channel ${c}`)),
    h("p", { id: "stats" }, "Requests, bytes served, viewers and ingest bitrate will be charted here from the statistics API."));
  return Promise.resolve();
}
