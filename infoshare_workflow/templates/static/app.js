// Enhancements for the task and disclosure pages. Self-hosted, loaded as a module: the
// content security policy allows no inline script. Without JavaScript every section shows
// and every form still works.
import { initAll } from "./govuk-frontend.min.js";

initAll();

// A section that belongs to one or more choices of a radio group ("who was asked" applies to
// consent given, refused or withdrawn): shown while one of them is chosen. GOV.UK Frontend's
// own conditional reveal ties one section to one radio and sets aria-expanded on the radio,
// which ARIA does not allow there (axe-core: aria-allowed-attr); this needs neither.
for (const section of document.querySelectorAll("[data-app-reveal-for]")) {
  const name = section.getAttribute("data-app-reveal-for");
  const values = (section.getAttribute("data-app-reveal-values") || "").split(" ");
  const radios = document.querySelectorAll(`input[type="radio"][name="${CSS.escape(name)}"]`);
  const sync = () => {
    const chosen = [...radios].some((radio) => radio.checked && values.includes(radio.value));
    section.classList.toggle("govuk-radios__conditional--hidden", !chosen);
  };
  for (const radio of radios) radio.addEventListener("change", sync);
  sync();
}
