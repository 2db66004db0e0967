// What-if without a page reload: the "Try these values" button posts the form with fetch and
// puts the answer (the outcomes' fragment) in place. Without script the button posts the
// form and the whole page comes back with the same outcomes.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-what-if]");
  if (!button) return;
  event.preventDefault();
  const form = button.form;
  const target = document.getElementById("what-if-result");
  const answer = await fetch(button.formAction, {
    method: "POST",
    body: new FormData(form),
    headers: { "X-Requested-With": "fetch" },
    credentials: "same-origin",
  });
  target.innerHTML = await answer.text();
});
