// "Copy link": the page's address, which holds the search (bound widgets and pinned queries), to the clipboard.
// Where the clipboard is refused (a page served over plain http beyond localhost), the address is shown selected.
export default function (component) {
  const { data, parentElement } = component;
  parentElement.querySelectorAll(".rs-link").forEach((node) => node.remove());
  const root = document.createElement("span");
  root.className = "rs-link";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "rs-preset";
  button.textContent = "Copy link";
  button.setAttribute("data-testid", "rs-copy-link");
  const shown = document.createElement("input");
  shown.className = "rs-link-text";
  shown.readOnly = true;
  shown.hidden = true;
  shown.setAttribute("data-testid", "rs-link-text");
  const status = document.createElement("span");
  status.className = "rs-readout";
  root.append(button, shown, status);
  parentElement.appendChild(root);
  button.addEventListener("click", async () => {
    const url = window.location.href;
    shown.value = url;
    root.setAttribute("data-link", url);
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = "Link copied" + (data.note ? ` (${data.note} not included: save it to a collection)` : "");
    } catch (error) {
      shown.hidden = false;
      shown.select();
      status.textContent = "Copy the address above";
    }
  });
}
