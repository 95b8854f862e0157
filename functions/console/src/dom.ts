// A few DOM helpers: elements from tag, attributes and children; no framework, no innerHTML.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** Replaces the page's main content. */
export function show(title: string, ...children: Child[]): HTMLElement {
  const main = document.getElementById("main");
  if (!main) throw new Error("no #main");
  main.replaceChildren();
  document.title = `${title} · edgepack`;
  const heading = h("h1", { tabindex: "-1" }, title);
  append(main, [heading, ...children]);
  heading.focus();
  return main;
}

/** A status line announced to screen readers. */
export function notice(text: string, kind: "ok" | "error" = "ok"): void {
  const el = document.getElementById("notice");
  if (!el) return;
  el.textContent = text;
  el.className = kind;
}

/** A button that copies `text` to the clipboard. */
export function copyButton(label: string, text: () => string): HTMLButtonElement {
  return h("button", {
    type: "button",
    class: "copy",
    onclick: () => {
      navigator.clipboard.writeText(text()).then(
        () => notice(`${label} copied`),
        () => notice(`could not copy ${label}`, "error"),
      );
    },
  }, `Copy ${label}`);
}

/** Asks for a confirmation in a modal dialog (Escape cancels). */
export function confirmDialog(question: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm" });
    const done = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.addEventListener("cancel", () => done(false));
    append(dialog, [
      h("p", {}, question),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirmLabel)),
    ]);
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h("a", { href }, text);
}

/** An input with its label and a place for the API's message about it. */
export function field(id: string, label: string, input: HTMLElement, help?: string): HTMLElement {
  input.id = `f-${id}`;
  input.setAttribute("aria-describedby", `e-${id} ${help ? `h-${id}` : ""}`.trim());
  return h("div", { class: "field", "data-field": id },
    h("label", { for: `f-${id}` }, label),
    input,
    help ? h("small", { id: `h-${id}` }, help) : null,
    h("p", { class: "field-error", id: `e-${id}`, role: "alert" }));
}

/** Shows an error next to field `id`; false when the form has no such field. */
export function fieldError(form: HTMLElement, id: string | undefined, text: string): boolean {
  if (id === undefined) return false;
  const box = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(id)}"]`);
  if (!box) return false;
  box.classList.add("invalid");
  box.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  const p = box.querySelector(".field-error");
  if (p) p.textContent = text;
  return true;
}

export function clearErrors(form: HTMLElement): void {
  for (const box of form.querySelectorAll(".field.invalid")) {
    box.classList.remove("invalid");
    box.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
    const p = box.querySelector(".field-error");
    if (p) p.textContent = "";
  }
}
