// While htmx replaces a region, mark it aria-busy so assistive technology announces the wait;
// the visible spinner is the request's hx-indicator (see console.css).
document.addEventListener("htmx:beforeRequest", (event) => {
  event.detail.target?.setAttribute("aria-busy", "true");
});
document.addEventListener("htmx:afterRequest", (event) => {
  event.detail.target?.removeAttribute("aria-busy");
});
