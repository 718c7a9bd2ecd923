// The playground's "Run": stream the routed tier's answer into the page (the gateway's SSE:
// OpenAI chunks, the final one with `semroute`, or an `error` event), then list the attempts.
// Without JavaScript the form posts and the page comes back with the whole answer.
(function () {
  "use strict";

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
  }

  function showAttempts(form, attempts) {
    const table = form.querySelector(".run-attempts");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const attempt of attempts || []) {
      const row = document.createElement("tr");
      cell(row, attempt.tier);
      cell(row, attempt.outcome);
      cell(row, attempt.latency_ms == null ? "" : Math.round(attempt.latency_ms) + " ms");
      cell(row, attempt.prompt_tokens == null ? "" : attempt.prompt_tokens + " / " + attempt.completion_tokens);
      cell(row, attempt.cost_usd == null ? "" : "$" + attempt.cost_usd.toFixed(6));
      cell(row, attempt.error);
      body.appendChild(row);
    }
    table.hidden = !(attempts && attempts.length);
  }

  function handle(form, block) {
    const data = block.split("\n").filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6)).join("\n");
    if (!data || data === "[DONE]") return;
    const payload = JSON.parse(data);
    const status = form.querySelector(".run-status");
    if (payload.error) {
      status.textContent = payload.error.message;
      status.classList.add("error");
      showAttempts(form, (payload.error.details || {}).attempts);
      return;
    }
    const choice = (payload.choices || [])[0];
    if (choice && choice.delta && choice.delta.content) {
      form.querySelector(".run-answer").textContent += choice.delta.content;
    }
    if (payload.semroute) {
      status.textContent = "Answered by " + payload.semroute.tier + ".";
      showAttempts(form, payload.semroute.attempts);
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-stream-run]");
    if (!form || !window.fetch || !window.TextDecoder) return;
    event.preventDefault();
    const status = form.querySelector(".run-status");
    form.querySelector(".run-answer").textContent = "";
    status.classList.remove("error");
    status.textContent = "Running…";
    showAttempts(form, []);
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: { Accept: "text/event-stream" },
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        handle(form, buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  });
})();
