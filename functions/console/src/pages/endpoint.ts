// An endpoint's settings, every one the API has (create or edit), with the API's validation
// errors at their field; its playback URL and the signed-URL generator.

import { Api, path } from "../api";
import { confirmDialog, copyButton, field, h, link, notice, show } from "../dom";
import { href } from "../route";
import { DEFAULTS, fieldOf, SETTINGS, toBody, toForm, type Section, type Setting } from "../settings";
import type { Endpoint, OutputProtocol } from "../types";
import { apiForm } from "./form";

export async function endpointPage(api: Api, g: string, c: string, e: string | undefined): Promise<void> {
  const existing = e === undefined ? undefined : await api.get<Endpoint>(path("groups", g, "channels", c, "endpoints", e));
  const values: Record<string, string> = existing ? toForm(existing) : DEFAULTS;
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  const boxes: [Setting, HTMLElement][] = [];
  const name = h("input", { type: "text", autocomplete: "off", value: existing?.name ?? "", readonly: existing !== undefined });
  for (const s of SETTINGS) {
    const input = control(s, values[s.field] ?? "");
    inputs.set(s.field, input);
    boxes.push([s, field(s.field, s.label, input, s.help)]);
  }
  const protocolOf = () => (inputs.get("protocol")?.value ?? "HLS") as OutputProtocol;
  const sections = new Map<Section, HTMLFieldSetElement>();
  for (const [s, box] of boxes) {
    let set = sections.get(s.section);
    if (!set) {
      set = h("fieldset", {}, h("legend", {}, s.section));
      sections.set(s.section, set);
    }
    set.append(box);
  }
  const applies = () => {
    for (const [s, box] of boxes) box.hidden = s.only !== undefined && !s.only.includes(protocolOf());
    for (const set of sections.values()) set.hidden = [...set.querySelectorAll<HTMLElement>(".field")].every((f) => f.hidden);
  };
  inputs.get("protocol")?.addEventListener("change", applies);
  applies();
  const form = apiForm(existing ? "Save endpoint" : "Create endpoint",
    [field("name", "Name", name, "1-64 of A-Z a-z 0-9 _ -"), ...sections.values()],
    async () => {
      const vals: Record<string, string> = {};
      for (const [k, el] of inputs) vals[k] = el instanceof HTMLInputElement && el.type === "checkbox" ? String(el.checked) : el.value;
      const body = toBody(vals, protocolOf());
      if (existing) {
        await api.patch(path("groups", g, "channels", c, "endpoints", existing.name), body);
        notice("Endpoint saved");
        await endpointPage(api, g, c, existing.name);
      } else {
        const created = await api.post<Endpoint>(path("groups", g, "channels", c, "endpoints"), { name: name.value.trim(), ...body });
        location.hash = href("g", g, "c", c, "e", created.name);
      }
    }, fieldOf);
  form.classList.add("settings");
  show(existing ? `Endpoint ${g}/${c}/${existing.name}` : `New endpoint in ${g}/${c}`,
    h("nav", { class: "sub", "aria-label": "endpoint" }, link(href("g", g, "c", c), `← channel ${c}`),
      existing ? link(href("g", g, "c", c, "e", existing.name, "preview"), "Preview") : null),
    existing ? h("p", {}, "Playback URL: ", h("code", { class: "url", id: "playback-url" }, existing.url), copyButton("playback URL", () => existing.url)) : null,
    form,
    existing ? signer(api, g, c, existing) : null,
    existing ? deleter(api, g, c, existing.name) : null);
}

function control(s: Setting, value: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  switch (s.kind) {
    case "bool":
      return h("input", { type: "checkbox", checked: value === "true" });
    case "choice": {
      const select = h("select", {}, ...(s.choices ?? []).map((v) => h("option", { value: v }, v === "" ? "(none)" : v)));
      select.value = value;
      return select;
    }
    case "lines": {
      const t = h("textarea", { rows: "2", spellcheck: "false" });
      t.value = value;
      return t;
    }
    default:
      return h("input", { type: "text", autocomplete: "off", spellcheck: "false", value, inputmode: s.kind.endsWith("int") ? "numeric" : undefined });
  }
}

/** The signed-URL generator: the `signed-url` route signs with the endpoint's key. */
function signer(api: Api, g: string, c: string, e: Endpoint): HTMLElement {
  const keys = e.signing_keys ?? [];
  if (keys.length === 0) return h("section", {}, h("h2", {}, "Signed URL"), h("p", {}, "Add signing keys (id:secret) to sign playback URLs."));
  const expires = h("input", { type: "text", inputmode: "numeric", value: "3600" });
  const key = h("select", {}, ...keys.map((k) => h("option", { value: k.id }, k.id)));
  const out = h("code", { class: "url", id: "signed-url" });
  let url = "";
  const form = apiForm("Sign URL", [field("expires_in", "Valid for (s)", expires, "60 s to a year"), field("key_id", "Key", key)], async () => {
    const r = await api.post<{ url: string; expires_at: string }>(path("groups", g, "channels", c, "endpoints", e.name, "signed-url"),
      { expires_in: /^\d+$/.test(expires.value) ? Number(expires.value) : expires.value, key_id: key.value });
    url = r.url;
    out.textContent = `${r.url} (until ${r.expires_at})`;
  });
  return h("section", {}, h("h2", {}, "Signed URL"), form, h("p", {}, out, copyButton("signed URL", () => url)));
}

function deleter(api: Api, g: string, c: string, e: string): HTMLElement {
  return h("section", {}, h("h2", {}, "Danger zone"), h("button", { type: "button", class: "danger", onclick: () => {
    void confirmDialog(`Delete endpoint ${e}?`, "Delete endpoint").then(async (yes) => {
      if (!yes) return;
      try {
        await api.delete(path("groups", g, "channels", c, "endpoints", e));
        location.hash = href("g", g, "c", c);
      } catch (err) {
        notice(err instanceof Error ? err.message : String(err), "error");
      }
    });
  } }, "Delete endpoint"));
}
