// Review queue keys: j/k move, 1-9 the right intent, a right, o out of scope, d dismiss, s skip,
// u undo. Each key clicks the current item's button, so it does exactly what the click does.
(function () {
  const items = () => Array.from(document.querySelectorAll("#queue-items .review-item"));
  let current = null;

  function select(item) {
    if (!item) return;
    current?.classList.remove("current");
    current = item;
    current.classList.add("current");
    current.focus({ preventScroll: true });
    current.scrollIntoView({ block: "nearest" });
  }

  function step(offset) {
    const list = items();
    const index = list.indexOf(current);
    select(list[Math.min(Math.max(index + offset, 0), list.length - 1)] || list[0]);
  }

  function nextOpen(after) {
    const list = items();
    const start = list.findIndex((item) => item.dataset.itemId === after);
    return list.slice(start + 1).find((item) => item.classList.contains("status-open"));
  }

  document.addEventListener("DOMContentLoaded", () => select(items()[0]));

  // An item answered by htmx replaces the old element: keep the place and go to the next one.
  document.addEventListener("htmx:afterSwap", (event) => {
    const swapped = event.detail.elt.closest?.(".review-item") || event.detail.target;
    if (!swapped?.dataset?.itemId) return;
    const fresh = document.getElementById(swapped.id) || swapped;
    current = fresh;
    if (!fresh.classList.contains("status-open")) select(nextOpen(fresh.dataset.itemId) || fresh);
    else select(fresh);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === "j") return step(1);
    if (key === "k") return step(-1);
    if (key === "s") return step(1);
    if (!current) return;
    const button = current.querySelector(`button[data-key="${key}"]`);
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });
})();
