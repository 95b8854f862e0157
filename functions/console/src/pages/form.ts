// Submitting a form to the API: the API's 400 goes next to the field it names, anything else
// to the form's own message line.

import { ApiError } from "../api";
import { clearErrors, fieldError, h } from "../dom";
import { FormError } from "../settings";

/** A form whose submit (Enter or the button) runs `action`; errors land at their field. */
export function apiForm(
  label: string,
  children: HTMLElement[],
  action: () => Promise<void>,
  mapField: (f: string | undefined) => string | undefined = (f) => f,
): HTMLFormElement {
  const message = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { novalidate: true, "aria-label": label }, ...children, message,
    h("button", { type: "submit" }, label));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(form);
    message.textContent = "";
    action().catch((e: unknown) => {
      const field = e instanceof ApiError || e instanceof FormError ? mapField(e.field) : undefined;
      const text = e instanceof ApiError && e.allowed !== undefined ? `allowed: ${e.allowed}` : e instanceof Error ? e.message : String(e);
      if (!fieldError(form, field, text)) message.textContent = e instanceof Error ? e.message : String(e);
      const bad = form.querySelector<HTMLElement>("[aria-invalid=true]");
      bad?.focus();
    });
  });
  return form;
}
