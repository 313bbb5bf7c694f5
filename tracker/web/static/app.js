// Save and rate without leaving the page: the same forms, sent in the background.
// Without this script they work as plain forms that come back to the same place.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("js-action")) return;
  event.preventDefault();
  const body = new FormData(form, event.submitter);
  const reply = await fetch(form.action, {method: "POST", body, headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"});
  if (!reply.ok) { form.submit(); return; }
  const state = await reply.json();
  if ("saved" in state) {
    const button = form.querySelector("button");
    form.elements.saved.value = state.saved ? "0" : "1";
    button.classList.toggle("on", state.saved);
    button.setAttribute("aria-pressed", String(state.saved));
    button.textContent = state.saved ? "★ Saved" : "☆ Save";
  } else if ("rating" in state) {
    for (const button of form.querySelectorAll("button")) {
      const on = button.dataset.rating === state.rating;
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", String(on));
      button.value = on ? "none" : button.dataset.rating;
    }
  }
});
// The digest's day list opens the chosen day.
document.addEventListener("change", (event) => {
  if (event.target.classList.contains("js-day")) event.target.form.submit();
});
