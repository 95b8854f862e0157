// The console's entry: sign-in, the hash router (#/g/{group}/c/{channel}/...), the page shell.
// Every page is a client of /api/v1; nothing secret ever goes into a URL.

import { Api, ApiError } from "./api";
import { h, notice, show } from "./dom";
import { groupsPage, groupPage } from "./pages/groups";
import { channelPage } from "./pages/channel";
import { endpointPage } from "./pages/endpoint";
import { statusPage } from "./pages/status";
import { harvestPage } from "./pages/harvest";
import { previewPage } from "./pages/preview";
import { statsPage } from "./pages/stats";
import { route } from "./route";

const api = new Api(sessionStorage, (url, init) => fetch(url, init));

/** Stops a page's timers and players when the user leaves it. */
let leave: (() => void) | undefined;

export type Page = (api: Api, onLeave: (f: () => void) => void) => Promise<void>;

async function render(): Promise<void> {
  leave?.();
  leave = undefined;
  notice("");
  setNav(api.signedIn);
  if (!api.signedIn) {
    signIn();
    return;
  }
  const r = route(location.hash);
  const pages: Record<string, Page | undefined> = {
    groups: () => groupsPage(api),
    group: () => groupPage(api, r.group ?? ""),
    channel: () => channelPage(api, r.group ?? "", r.channel ?? ""),
    endpoint: () => endpointPage(api, r.group ?? "", r.channel ?? "", r.endpoint),
    status: (_, on) => statusPage(api, r.group ?? "", r.channel ?? "", on),
    harvest: (_, on) => harvestPage(api, r.group ?? "", r.channel ?? "", on),
    preview: (_, on) => previewPage(api, r.group ?? "", r.channel ?? "", r.endpoint ?? "", on),
    stats: (_, on) => statsPage(api, r.group ?? "", r.channel ?? "", on),
  };
  const page = pages[r.page] ?? pages.groups;
  try {
    await page?.(api, (f) => (leave = f));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signIn("The session ended: sign in again.");
      return;
    }
    show("Error", h("p", { class: "error" }, e instanceof Error ? e.message : String(e)));
  }
}

function signIn(message?: string): void {
  const token = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
  const error = h("p", { class: "field-error", id: "token-error", role: "alert" }, message ?? "");
  token.setAttribute("aria-describedby", "token-error");
  const form = h("form", { class: "signin", novalidate: true },
    h("label", { for: "token" }, "Admin token"),
    token,
    error,
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    error.textContent = "";
    api.signIn(token.value).then(
      () => void render(),
      (e: unknown) => {
        error.textContent = e instanceof ApiError && e.status === 401 ? "That token is not accepted." : String(e);
        token.focus();
      },
    );
  });
  show("Sign in", h("p", {}, "The console uses the control API with the deployment's admin token. It is kept in this browser tab only (sessionStorage)."), form);
  token.focus();
}

function setNav(signedIn: boolean): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  nav.replaceChildren(h("a", { href: "#/" }, "Channel groups"));
  if (signedIn) {
    const out = () => {
      api.signOut();
      location.hash = "#/";
      void render();
    };
    nav.append(h("button", { type: "button", id: "signout", onclick: out }, "Sign out"));
  }
}

window.addEventListener("hashchange", () => void render());
void render();
